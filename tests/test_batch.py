"""Batch tagging of a folder: every format, every bad-file kind, outputs, resume, and a real kill -9."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newstagger.batch import discover, tag_directory
from newstagger.batch_readers import read_file
from newstagger.cli import main

PAGE = """<html><head><title>Site | Old title</title><meta property="og:title" content="India signs Rafale deal">
<script>var tracking = "SCRIPT_TEXT";</script></head><body>
<nav><a href="/">Home</a> <a href="/world">NAV_LINK World</a></nav>
<div class="content"><p>New Delhi agreed to buy 26 Rafale fighters from France in a deal signed on Monday,
officials said, after months of talks over price and local assembly of the jets.</p>
<p>The navy will fly the jets from its carriers; deliveries begin in three years under the contract.</p></div>
<div class="related"><h3>Related stories</h3><ul><li><a href="/x">RELATED_LINK Other story</a></li></ul></div>
<footer>FOOTER_TEXT Copyright 2024</footer></body></html>"""

# (file name, content, expected [(id, title, start of body)])
GOOD_FILES = [
    ("a.txt", "\n\nIndia buys jets\nNew Delhi signed for Rafale fighters.\n", [("a.txt", "India buys jets", "New Delhi")]),
    ("b.md", "# Shelling in Donbas\n\nArtillery duels continued.\n", [("b.md", "Shelling in Donbas", "Artillery")]),
    ("c.json", '{"headline": "Japan orders missiles", "lede": "Tokyo approved it."}',
     [("c.json", "Japan orders missiles", "Tokyo")]),
    ("d.json", '[{"id": "k1", "title": "One", "text": "First."}, {"title": "Two", "body": "Second."}]',
     [("k1", "One", "First."), ("d.json:1", "Two", "Second.")]),
    ("e.jsonl", '{"id": "x", "title": "A"}\n\n{"title": "B", "description": "b"}\n{"id": "x", "title": "C"}\n',
     [("x", "A", ""), ("e.jsonl:3", "B", "b"), ("e.jsonl:4", "C", "")]),
    ("f.txt", "Café in Zürich\nLe président a signé l'accord.".encode("cp1252"), [("f.txt", "Café in Zürich", "Le")]),
    ("g.htm", PAGE, [("g.htm", "India signs Rafale deal", "New Delhi agreed")]),
]

UNDECODABLE = b"Title\n" + bytes(range(0x80, 0x100)) * 3

# (file name, content, max bytes, expected kind, expected line)
BAD_FILES = [
    ("empty.txt", "", 1000, "empty", 0),
    ("blank.md", "\n  \n\t\n", 1000, "empty", 0),
    ("binary.txt", b"GIF89a\x00\x01\x02", 1000, "binary", 0),
    ("big.txt", "x" * 2000, 1000, "oversize", 0),
    ("bad.json", '{"title": "A",', 1000, "malformed_json", 1),
    ("scalar.json", "42", 1000, "malformed_json", 0),
    ("notext.json", '{"id": 3, "title": 7}', 1000, "malformed_json", 0),
    ("bad.jsonl", '{"title": "A"}\n{oops\n', 1000, "malformed_jsonl", 2),
    ("empty.html", "<html><body><script>x()</script></body></html>", 1000, "no_text", 0),
    ("odd.txt", UNDECODABLE, 10_000, "undecodable", 0),
]


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


@pytest.mark.parametrize("name,content,expected", GOOD_FILES, ids=[g[0] for g in GOOD_FILES])
def test_each_format_reads_into_documents(tmp_path, name, content, expected):
    _write(tmp_path / name, content)
    result = read_file(tmp_path / name, name, max_bytes=100_000)
    assert result.problems == []
    assert [(i.id, i.title, i.body[:len(b)]) for i, (_, _, b) in zip(result.items, expected)] == expected


def test_html_keeps_the_article_and_drops_the_rest(tmp_path):
    _write(tmp_path / "p.html", PAGE)
    [item] = read_file(tmp_path / "p.html", "p.html", max_bytes=100_000).items
    assert "deliveries begin" in item.body and "New Delhi agreed" in item.body
    for noise in ("SCRIPT_TEXT", "NAV_LINK", "RELATED_LINK", "FOOTER_TEXT"):
        assert noise not in item.body


SAVED_PAGE = """Tuesday, March 4, 2025

Manila orders second batch of BrahMos missiles from India

The Philippine navy will buy three more batteries of the shore-based anti-ship missile, the
defence department said.
ALSO READ: Vietnam weighs its own purchase of the missile
Deliveries are due from 2027 under the deal signed in New Delhi.

## More from Example Times

Kyiv says drones struck a refinery near Moscow
Chile and Argentina hold joint naval drill off Cape Horn
"""


def test_a_saved_page_as_text_keeps_its_article_and_drops_the_page_around_it(tmp_path):
    _write(tmp_path / "page.md", SAVED_PAGE)
    [item] = read_file(tmp_path / "page.md", "page.md", max_bytes=100_000).items
    assert item.title == "Manila orders second batch of BrahMos missiles from India"  # not the date
    assert item.body.startswith("The Philippine navy") and item.body.endswith("signed in New Delhi.")
    for teaser in ("Tuesday", "Vietnam weighs", "More from", "Kyiv", "Cape Horn"):
        assert teaser not in item.body


@pytest.mark.parametrize("text,kept", [
    # a marker right after the title is the page's furniture, not the end of the article
    ("India buys jets\nRelated stories\nNew Delhi signed for Rafale fighters.", "Rafale fighters."),
    # the words inside a sentence are no marker
    ("India buys jets\nNew Delhi signed.\nHe said more from France would follow.\nOther news at noon.",
     "more from France would follow.\nOther news at noon."),
    ("2024-05-03\nIndia buys jets\nNew Delhi signed.\nMost read\nKyiv strikes", "New Delhi signed."),
])
def test_only_a_line_that_is_a_marker_ends_the_article(tmp_path, text, kept):
    _write(tmp_path / "a.txt", text)
    [item] = read_file(tmp_path / "a.txt", "a.txt", max_bytes=100_000).items
    assert item.title == "India buys jets" and item.body.endswith(kept)


@pytest.mark.parametrize("name,content,max_bytes,kind,line", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_each_bad_file_kind_is_reported(tmp_path, name, content, max_bytes, kind, line):
    _write(tmp_path / name, content)
    result = read_file(tmp_path / name, name, max_bytes=max_bytes)
    assert [(p.kind, p.line) for p in result.problems] == [(kind, line)]


def test_undecodable_text_is_still_tagged_with_replacement(tmp_path):
    _write(tmp_path / "odd.txt", UNDECODABLE)
    [item] = read_file(tmp_path / "odd.txt", "odd.txt", max_bytes=10_000).items
    assert item.title == "Title" and "\ufffd" in item.body


@pytest.mark.parametrize("make", ["fifo", "broken_symlink", "no_permission"])
def test_unreadable_files_are_reported(tmp_path, make):
    path = tmp_path / "x.txt"
    if make == "fifo":
        os.mkfifo(path)
    elif make == "broken_symlink":
        path.symlink_to(tmp_path / "missing.txt")
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode; the FIFO and broken-link cases cover unreadable")
        _write(path, "Title")
        path.chmod(0)
    result = read_file(path, "x.txt", max_bytes=1000)
    assert [p.kind for p in result.problems] == ["unreadable"] and not result.items


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder with every good format, some bad files, a hidden file and folder, and a symlink loop."""
    root = tmp_path / "in"
    for name, content, _ in GOOD_FILES:
        _write(root / "sub" / name, content)
    _write(root / "empty.txt", "")
    _write(root / "bad.jsonl", '{"title": "Kept"}\n{oops\n')
    _write(root / ".hidden.txt", "Hidden")
    _write(root / ".git" / "x.txt", "Hidden too")
    _write(root / "notes.docx", "not a supported type")
    (root / "sub" / "loop").symlink_to(root)
    (root / "broken.txt").symlink_to(root / "nowhere")
    return root


EXPECTED_DOCS = sum(len(g[2]) for g in GOOD_FILES) + 1


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_directory_to_jsonl_with_errors_file(folder, tmp_path, tiny_model_path):
    out = tmp_path / "out.jsonl"
    summary = tag_directory(folder, out=out, model_path=tiny_model_path, workers=2, chunk_files=2)
    records = _jsonl(out)
    assert len(records) == EXPECTED_DOCS == summary.documents
    assert len({(r["path"], r["id"]) for r in records}) == EXPECTED_DOCS
    assert {r["path"] for r in records} >= {"sub/a.txt", "sub/g.htm", "bad.jsonl"}
    assert not any("hidden" in r["path"] or ".git" in r["path"] or "loop" in r["path"] for r in records)
    assert set(records[0]) == {"path", "id", "labels", "scores"} and set(records[0]["labels"]) == {"region", "theme"}
    errors = _jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert sorted((e["path"], e["line"], e["kind"]) for e in errors) == [
        ("bad.jsonl", 2, "malformed_jsonl"), ("broken.txt", 0, "unreadable"), ("empty.txt", 0, "empty")]
    assert summary.failed and summary.errors["empty"] == 1
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_csv_output_joins_labels(folder, tmp_path, tiny_model_path):
    out = tmp_path / "out.csv"
    tag_directory(folder, out=out, fmt="csv", model_path=tiny_model_path, include=["*.json"])
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["id"] for r in rows) == ["k1", "sub/c.json", "sub/d.json:1"]
    assert "score.region.asia" in rows[0] and "theme" in rows[0]
    assert all(set(r["region"].split("|")) <= {"", "asia", "europe"} for r in rows)


def test_include_and_exclude(folder):
    files, _ = discover(folder, include=["sub/*"], exclude=["*.json", "*.jsonl"])
    assert [rel for rel, _ in files] == ["sub/a.txt", "sub/b.md", "sub/f.txt", "sub/g.htm"]


def test_cli_to_stdout_and_exit_codes(folder, tmp_path, runner, tiny_model_path):
    result = runner.invoke(main, ["tag", str(folder), "--include", "sub/*", "--model", str(tiny_model_path),
                                  "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert len([json.loads(line) for line in result.stdout.splitlines()]) == EXPECTED_DOCS - 1
    assert f"tagged {EXPECTED_DOCS - 1} documents" in result.stderr
    result = runner.invoke(main, ["tag", str(folder), "--model", str(tiny_model_path), "--quiet"])
    assert result.exit_code == 1 and "empty.txt: empty" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--resume"], "--resume needs an output file"),
    (["--model", "/nonexistent/m.npz"], "m.npz"),
    (["--format", "xml"], "xml"),
], ids=["resume-to-stdout", "missing-model", "bad-format"])
def test_usage_errors_exit_2(folder, runner, tiny_model_path, args, message):
    base = ["tag", str(folder)] + ([] if "--model" in args else ["--model", str(tiny_model_path)])
    result = runner.invoke(main, base + args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_partial_without_resume_is_refused(folder, tmp_path, runner, tiny_model_path):
    (tmp_path / "o.jsonl.partial").write_text("")
    result = runner.invoke(main, ["tag", str(folder), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "--resume" in result.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_cuts_a_torn_line_and_skips_what_is_done(folder, tmp_path, tiny_model_path, fmt):
    full = tmp_path / f"full.{fmt}"
    tag_directory(folder, out=full, fmt=fmt, model_path=tiny_model_path)
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    out = tmp_path / f"o.{fmt}"
    # A run killed after 4 records, in the middle of writing the fifth.
    (tmp_path / f"o.{fmt}.partial").write_text("".join(lines[:5]) + lines[5][:17], encoding="utf-8")
    summary = tag_directory(folder, out=out, fmt=fmt, model_path=tiny_model_path, resume=True)
    assert summary.resumed == (4 if fmt == "csv" else 5)
    assert sorted(out.read_text(encoding="utf-8").splitlines()) == sorted(full.read_text(encoding="utf-8").splitlines())
    errors = _jsonl(tmp_path / f"o.{fmt}.errors.jsonl")
    assert len(errors) == len({(e["path"], e["line"], e["kind"]) for e in errors}) == 3


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_explain_adds_the_terms_behind_each_label(folder, tmp_path, tiny_model_path, tiny_tagger, fmt):
    out = tmp_path / f"out.{fmt}"
    tag_directory(folder, out=out, fmt=fmt, model_path=tiny_model_path, include=["sub/*"], workers=2,
                  chunk_files=2, explain=True)
    if fmt == "jsonl":
        records = _jsonl(out)
    else:
        with out.open(encoding="utf-8", newline="") as fh:
            records = [dict(r, explanation=json.loads(r["explanation"])) for r in csv.DictReader(fh)]
    assert len(records) == EXPECTED_DOCS - 1
    a_txt = next(r for r in records if r["path"] == "sub/a.txt")
    text = (folder / "sub" / "a.txt").read_text(encoding="utf-8")
    # the same explanation as the Python API gives for the file's text (its title line, then its body)
    assert a_txt["explanation"] == tiny_tagger.tag([text.strip()], explain=True)[0]["explanation"]
    for r in records:
        labels = r["labels"] if fmt == "jsonl" else {f: [x for x in r[f].split("|") if x] for f in ("region", "theme")}
        assert {f: sorted(e) for f, e in r["explanation"].items()} == {f: sorted(v) for f, v in labels.items()}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_refuses_a_partial_file_with_other_columns(folder, tmp_path, runner, tiny_model_path, fmt):
    full = tmp_path / f"full.{fmt}"
    tag_directory(folder, out=full, fmt=fmt, model_path=tiny_model_path)
    (tmp_path / f"o.{fmt}.partial").write_text("".join(full.read_text(encoding="utf-8").splitlines(keepends=True)[:3]))
    result = runner.invoke(main, ["tag", str(folder), "-o", str(tmp_path / f"o.{fmt}"), "--format", fmt, "--resume",
                                  "--explain", "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and f"o.{fmt}.partial was written with other columns" in result.output
    assert (tmp_path / f"o.{fmt}.partial").exists() and not (tmp_path / f"o.{fmt}").exists()


def _orphans(marker: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and PR_SET_PDEATHSIG")
def test_kill_9_mid_run_then_resume(tmp_path, tiny_model_path):
    root = tmp_path / "many"
    for i in range(3000):
        _write(root / f"d{i // 500}" / f"n{i:05d}.txt", f"Report {i}\nTroops and jets number {i} in the news.")
    out = tmp_path / "o.jsonl"
    cmd = [sys.executable, "-c", "from newstagger.cli import main; main()", "tag", str(root), "-o", str(out),
           "--model", str(tiny_model_path), "--workers", "2", "--quiet"]
    env = dict(os.environ, NEWSTAGGER_BATCH_CHUNK="10")
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE)
    partial = tmp_path / "o.jsonl.partial"
    try:
        deadline = time.monotonic() + 60
        while not (partial.exists() and partial.stat().st_size > 20_000) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.005)
        assert len(_orphans(str(root))) == 3        # the parent and its two workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while _orphans(str(root)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _orphans(str(root)) == [], "worker processes outlived their killed parent"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    assert not out.exists() and partial.exists()
    done_before = len(partial.read_bytes().splitlines())
    assert 0 < done_before < 3000
    rerun = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr.decode()
    records = _jsonl(out)       # raises on a torn line
    assert len(records) == 3000 == len({r["path"] for r in records})
    assert not partial.exists()


def test_an_output_inside_the_folder_is_not_read_as_input(folder, tiny_model_path):
    """Running again into the same OUT inside the folder must not tag the previous OUT's lines."""
    out = folder / "tags.jsonl"
    first = tag_directory(folder, out=out, model_path=tiny_model_path, workers=1)
    second = tag_directory(folder, out=out, model_path=tiny_model_path, workers=1)
    assert first.documents == second.documents == EXPECTED_DOCS
    assert not any(r["path"].startswith("tags.jsonl") for r in _jsonl(out))
