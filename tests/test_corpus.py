"""Guard the seed corpus: schema, labels in the taxonomy, no duplicates, the coverage minimums."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from newstagger.documents import read_documents
from newstagger.taxonomy import load_taxonomy

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SCS_EXEMPT = {"middle-east", "africa", "latin-america", "russia-eurasia"}


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(SEEDS / "taxonomy.json")


@pytest.fixture(scope="module")
def docs(taxonomy):
    # read_documents enforces the schema: JSON objects, a title, label lists, labels in the taxonomy.
    return read_documents([SEEDS / "corpus"], taxonomy)


def test_kinds_and_splits_are_known(docs):
    import json

    for path in sorted((SEEDS / "corpus").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            rec = json.loads(line)
            assert rec.get("kind") in {"headline", "lede", "article"}, f"{path.name}:{n}"
            assert rec.get("split") in {"train", "dev"}, f"{path.name}:{n}"


def test_no_duplicate_titles(docs):
    titles = Counter(re.sub(r"\W+", " ", d.title.lower()).strip() for d in docs)
    assert [t for t, c in titles.items() if c > 1] == []


def test_size_and_shape(docs):
    assert len(docs) >= 5000
    with_lede = [d for d in docs if d.body and len(d.body.split()) < 150]
    articles = [d for d in docs if len(d.body.split()) >= 150]
    assert len(with_lede) >= 0.5 * len(docs)
    assert len(articles) >= 200


def test_label_coverage(docs, taxonomy):
    count = Counter(lab for d in docs for facet in ("region", "theme") for lab in d.labels[facet])
    for theme in taxonomy.facet("theme").labels:
        assert count[theme] >= 500, theme
    for region in taxonomy.facet("region").labels:
        assert count[region] >= 250, region
    assert sum(not d.labels["theme"] for d in docs) >= 600
    assert sum(not d.labels["region"] for d in docs) >= 80
    assert sum(len(d.labels["region"]) >= 2 for d in docs) >= 0.25 * len(docs)
    assert sum(len(d.labels["theme"]) >= 2 for d in docs) >= 0.15 * len(docs)


def test_every_region_theme_pair_is_covered(docs, taxonomy):
    cells = Counter((r, t) for d in docs for r in d.labels["region"] for t in d.labels["theme"])
    short = [(r, t, cells[(r, t)]) for r in taxonomy.facet("region").labels for t in taxonomy.facet("theme").labels
             if cells[(r, t)] < 10 and not (t == "south-china-sea" and r in SCS_EXEMPT)]
    assert short == []


def test_dev_split_spreads_over_every_label(docs, taxonomy):
    dev = [d for d in docs if d.split == "dev"]
    assert 0.12 <= len(dev) / len(docs) <= 0.18
    for facet in taxonomy.facets:
        for label in facet.labels:
            assert sum(label in d.labels[facet.name] for d in dev) >= 30, label


def test_seed_article_and_its_headlines_are_in(docs):
    ids = {d.id: d for d in docs}
    article = ids["seed-0001"]
    assert article.labels == {"region": ["south-asia", "russia-eurasia"],
                              "theme": ["defence-deals", "diplomacy", "defence-cooperation"]}
    assert sum(i.startswith("seed-") for i in ids) == 6


def test_taxonomy_file_matches_the_readme():
    readme = (SEEDS / "README.md").read_text(encoding="utf-8")
    tax = load_taxonomy(SEEDS / "taxonomy.json")
    for facet in tax.facets:
        for label in facet.labels:
            assert f"`{label}`" in readme, label
