"""Prometheus metrics of one app: a registry per app, summed over gunicorn workers when served."""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's counters and latency histogram, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("newstagger_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("newstagger_http_request_duration_seconds", "time to answer a request",
                                 ["route"], buckets=_BUCKETS, registry=self.registry)
        self.documents = Counter("newstagger_documents_classified", "documents classified",
                                 registry=self.registry)
        self.labels = Counter("newstagger_labels_assigned", "labels assigned, by facet and label",
                              ["facet", "label"], registry=self.registry)
        self._label_children: dict[tuple[str, str], object] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_results(self, results: list[dict]) -> None:
        """Count classified documents and the labels they were given."""
        self.documents.inc(len(results))
        for result in results:
            for facet, labels in result["labels"].items():
                for label in labels:
                    self._label_counter(facet, label).inc()

    def _label_counter(self, facet: str, label: str):
        # labels() checks and locks on every call; a label's child never changes, so keep it.
        child = self._label_children.get((facet, label))
        if child is None:
            child = self._label_children[(facet, label)] = self.labels.labels(facet, label)
        return child

    def exposition(self) -> bytes:
        """Return the Prometheus text format; under gunicorn, the sum over all workers."""
        path = os.environ.get(MULTIPROC_ENV)
        if path and os.path.isdir(path):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=path)
            return generate_latest(registry)
        return generate_latest(self.registry)
