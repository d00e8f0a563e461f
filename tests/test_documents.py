"""Reading labelled data: formats, aliases, facets, and a table of bad files with their messages."""
from __future__ import annotations

import json

import pytest

from newstagger.documents import infer_taxonomy, read_documents
from newstagger.errors import DataError
from newstagger.taxonomy import Taxonomy

from .conftest import TINY_TAXONOMY

TAXONOMY = Taxonomy.from_dict(TINY_TAXONOMY)
GOOD = json.dumps({"id": "a", "title": "T", "region": ["asia"], "theme": []})

BAD_FILES = [
    ("not-json", "data.jsonl", GOOD + "\n{not json}\n", "data.jsonl:2: not valid JSON"),
    ("not-an-object", "data.jsonl", "[1, 2]\n", "data.jsonl:1: expected a JSON object, got list"),
    ("no-title", "data.jsonl", json.dumps({"id": "a", "region": [], "theme": []}) + "\n", "data.jsonl:1: no title"),
    ("blank-title", "data.jsonl", json.dumps({"id": "a", "title": "  ", "region": [], "theme": []}), "no title"),
    ("label-not-list", "data.jsonl", json.dumps({"id": "a", "title": "T", "region": "asia", "theme": []}),
     "data.jsonl:1: 'region' must be a list"),
    ("unknown-label", "data.jsonl", json.dumps({"id": "a", "title": "T", "region": ["mars"], "theme": []}),
     "data.jsonl:1: unknown region label(s) 'mars'"),
    ("missing-facet", "data.jsonl", json.dumps({"id": "a", "title": "T", "region": []}), "data.jsonl:1: no 'theme' labels"),
    ("empty-file", "data.jsonl", "\n\n", "data.jsonl: empty file"),
    ("duplicate-id", "data.jsonl", GOOD + "\n" + GOOD + "\n", "data.jsonl:2: duplicate id 'a'"),
    ("not-utf8", "data.jsonl", b"\xff\xfe{}", "not UTF-8"),
    ("wrong-type", "data.txt", "hello", "unsupported file type '.txt'"),
    ("csv-unknown-label", "data.csv", "id,title,region,theme\na,T,mars,\n", "data.csv:2: unknown region label(s) 'mars'"),
]


@pytest.mark.parametrize("name,content,message", [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES])
def test_bad_data_names_file_line_and_problem(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_documents([path], TAXONOMY)


def test_aliases_headline_and_lede(tmp_path):
    path = tmp_path / "real.jsonl"
    path.write_text(json.dumps({"id": "r1", "headline": "Seoul tests missile", "lede": "It flew far.",
                                "region": ["asia"], "theme": [], "note": "a note"}) + "\n")
    [doc] = read_documents([path], TAXONOMY)
    assert doc.text == "Seoul tests missile\nIt flew far."
    assert doc.labels == {"region": ["asia"], "theme": []}


def test_csv_with_pipe_joined_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,title,body,region,theme\nx,Deal signed,Body text,asia|europe,deals\ny,Quiet day,,,\n")
    docs = read_documents([path], TAXONOMY)
    assert docs[0].labels == {"region": ["asia", "europe"], "theme": ["deals"]}
    assert docs[1].labels == {"region": [], "theme": []} and docs[1].body == ""


def test_folder_reads_every_data_file_but_hidden_ones(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.jsonl").write_text(GOOD + "\n")
    (tmp_path / "b.csv").write_text("id,title,region,theme\nb,Other,,\n")
    (tmp_path / ".hidden.jsonl").write_text("garbage")
    assert sorted(d.id for d in read_documents([tmp_path], TAXONOMY)) == ["a", "b"]


def test_without_taxonomy_facets_come_from_list_fields(tmp_path):
    path = tmp_path / "topics.jsonl"
    path.write_text("\n".join(json.dumps({"id": str(i), "title": f"t{i}", "topics": t, "kind": "x"})
                              for i, t in enumerate([["grain"], ["oil", "grain"], []])))
    docs = read_documents([path])
    tax = infer_taxonomy(docs)
    assert tax.facet_names == ["topics"]
    assert tax.facet("topics").labels == ("grain", "oil")


def test_data_without_any_facet_is_refused(tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"id": "1", "title": "t"}) + "\n")
    with pytest.raises(DataError, match="no facets"):
        infer_taxonomy(read_documents([path]))
