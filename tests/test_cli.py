"""The CLI through click's CliRunner: train, evaluate, classify, and one-line errors."""
from __future__ import annotations

import json
import re
import socket

import pytest

from newstagger.cli import main
from newstagger.model import Tagger


def test_train_writes_model_and_prints_cv_table(runner, tiny_data, tmp_path):
    out = tmp_path / "m.npz"
    result = runner.invoke(main, ["train", "--data", str(tiny_data), "--out", str(out), "--folds", "2", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert out.exists()
    assert "Cross-validated scores" in result.stdout and "thresh" in result.stdout
    assert "deals" in result.stdout and "micro avg" in result.stdout
    assert "scores from the competition stage" in result.stdout  # the tiny region facet keeps it


def test_train_on_a_one_facet_file_without_taxonomy(runner, tmp_path):
    data = tmp_path / "topics.jsonl"
    rows = [("Wheat prices climb", ["grain"]), ("Corn harvest record", ["grain"]), ("Oil output cut", ["crude"]),
            ("Crude stocks fall", ["crude"]), ("Grain and oil exports", ["grain", "crude"]), ("Bank rate cut", [])] * 2
    data.write_text("\n".join(json.dumps({"id": f"d{i}", "title": t, "topics": l}) for i, (t, l) in enumerate(rows)))
    out = tmp_path / "topics.npz"
    result = runner.invoke(main, ["train", "--data", str(data), "--out", str(out), "--folds", "2", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    card = json.loads(runner.invoke(main, ["classify", "Wheat", "--model", str(out)]).stdout)
    assert set(card["labels"]) == {"topics"}
    # theme's default C applies only where the data has a theme facet
    assert Tagger.load(out).card["hyperparameters"]["head_c_by_facet"] == {}


def test_train_head_c_sets_a_facets_regularisation(runner, tiny_data, tiny_tagger, tmp_path):
    assert tiny_tagger.card["hyperparameters"]["head_c_by_facet"] == {"theme": 32.0}  # the default
    out = tmp_path / "m.npz"
    result = runner.invoke(main, ["train", "--data", str(tiny_data), "--out", str(out), "--folds", "2", "--jobs", "1",
                                  "--head-c", "region=0.5"])
    assert result.exit_code == 0, result.output
    trained = Tagger.load(out)
    assert trained.card["hyperparameters"]["head_c_by_facet"] == {"theme": 32.0, "region": 0.5}
    # a stronger penalty gives the region heads smaller weights than the default model's
    region = [h for h in trained.heads if h.facet == "region"][0]
    default_region = [h for h in tiny_tagger.heads if h.facet == "region"][0]
    assert abs(region.coef).sum() < abs(default_region.coef).sum()


@pytest.mark.parametrize("value,code,message", [
    ("sports=2", 1, "--head-c names facets the data does not have: sports (its facets: region, theme)"),
    ("theme=0", 2, "give FACET=C with C a positive number"),
    ("theme", 2, "give FACET=C with C a positive number"),
    ("=3", 2, "give FACET=C with C a positive number"),
])
def test_train_head_c_refuses_what_it_cannot_use(runner, tiny_data, tmp_path, value, code, message):
    out = tmp_path / "m.npz"
    result = runner.invoke(main, ["train", "--data", str(tiny_data), "--out", str(out), "--folds", "2", "--jobs", "1",
                                  "--head-c", value])
    assert result.exit_code == code, result.output
    assert message in result.output and not out.exists()


def test_bad_data_is_one_line_error_and_nothing_written(runner, tiny_data, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "title": "T", "region": [], "theme": []}\n{"id": "y", "title": "U", "region": "asia", "theme": []}\n')
    out = tmp_path / "never.npz"
    result = runner.invoke(main, ["train", "--data", str(bad), "--taxonomy", str(tiny_data / "taxonomy.json"),
                                  "--out", str(out)])
    assert result.exit_code == 1
    assert "bad.jsonl:2: 'region' must be a list" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_evaluate_prints_metrics_and_json(runner, tiny_data, tiny_model_path):
    result = runner.invoke(main, ["evaluate", "--data", str(tiny_data), "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    assert "exact match" in result.stdout and "Hamming loss" in result.stdout
    report = json.loads(runner.invoke(main, ["evaluate", "--data", str(tiny_data), "--model",
                                             str(tiny_model_path), "--json"]).stdout)
    assert report["documents"] == 30
    assert set(report["facets"]["theme"]) >= {"micro", "macro", "labels", "exact_match", "hamming_loss", "confusions"}


def test_evaluate_a_split(runner, tiny_data, tiny_model_path):
    report = json.loads(runner.invoke(main, ["evaluate", "--data", str(tiny_data), "--model", str(tiny_model_path),
                                             "--split", "dev", "--json"]).stdout)
    assert report["documents"] == 3


def test_evaluate_writes_the_documents_it_got_wrong(runner, tmp_path, tiny_tagger, tiny_model_path):
    texts = ["Pakistan orders Chinese frigates", "Fighting rages in Donbas", "Floods hit Bavaria"]
    results = tiny_tagger.tag(texts)
    predicted = [r["labels"] for r in results]
    assert predicted[1]["region"], "the test needs a text the tiny model gives a region"
    # The second document's labels differ from the prediction: no region, and themes that are not it.
    themes = [t for t in ("deals", "conflict") if t not in predicted[1]["theme"]] or predicted[1]["theme"][:1]
    assert themes != predicted[1]["theme"]
    docs = [{"id": "right", "title": texts[0], **predicted[0]},
            {"id": "wrong", "title": texts[1], "region": [], "theme": themes},
            {"id": "also-right", "title": texts[2], **predicted[2]}]
    data = tmp_path / "check.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "wrong.jsonl"
    result = runner.invoke(main, ["evaluate", "--data", str(data), "--model", str(tiny_model_path),
                                  "--errors", str(out), "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # stdout stays the report alone
    assert "1 of 3 documents with an error" in result.stderr
    [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (record["where"], record["id"], record["title"]) == (f"{data}:2", "wrong", texts[1])
    scores = results[1]["scores"]
    assert record["region"] == {"expected": [], "predicted": predicted[1]["region"], "missed": [],
                                "extra": predicted[1]["region"],
                                "scores": {lab: scores["region"][lab] for lab in predicted[1]["region"]}}
    assert record["theme"]["missed"] == [t for t in themes if t not in predicted[1]["theme"]]
    assert record["theme"]["extra"] == [t for t in predicted[1]["theme"] if t not in themes]
    assert not list(tmp_path.glob(".wrong.jsonl.*"))  # no temp file left behind


def test_classify_prints_only_json(runner, tiny_model_path):
    result = runner.invoke(main, ["classify", "Shelling in Donbas", "--model", str(tiny_model_path), "--explain"])
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.stdout)
    assert set(parsed) == {"labels", "scores", "explanation"}


def test_serve_without_a_model_or_seeds_says_how_to_get_one(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSTAGGER_MODEL", raising=False)
    with socket.socket() as probe:  # a port that is free, so the address check passes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "model file not found" in result.output and "seeds/" in result.output
    assert not (tmp_path / "models").exists()


def test_info_describes_the_model(runner, tiny_model_path, tiny_tagger):
    result = runner.invoke(main, ["info", "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    card = tiny_tagger.card
    assert tiny_tagger.version in result.stdout and f"on {card['training_data']['documents']} documents" in result.stdout
    thresholds = card["thresholds"]["theme"]
    for label, threshold in thresholds.items():  # the per-label table, as `train` printed it
        assert any(line.startswith(label) and line.endswith(f"{threshold:6.3f}") for line in result.stdout.splitlines())
    as_json = json.loads(runner.invoke(main, ["info", "--json", "--model", str(tiny_model_path)]).stdout)
    assert as_json["card"] == card and as_json["version"] == tiny_tagger.version


def test_info_prints_the_card_as_markdown(runner, tiny_model_path, tiny_tagger):
    result = runner.invoke(main, ["info", "--markdown", "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    card, text = tiny_tagger.card, result.stdout
    assert text.startswith(f"# Model card: newstagger model {tiny_tagger.version}\n")
    assert card["training_data"]["sha256"] in text and "2 folds" in text
    for facet, spec in card["taxonomy"]["facets"].items():
        report = card["metrics"]["cross_validation"][facet]
        for label, description in spec["labels"].items():
            m = report["labels"][label]
            row = (f"| {label} | {description} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                   f"{m['support']} | {card['thresholds'][facet][label]:.3f} |")
            assert row in text.splitlines(), row
        assert f"Micro-averaged F1 {report['micro']['f1']:.3f}" in text
    both = runner.invoke(main, ["info", "--markdown", "--json", "--model", str(tiny_model_path)])
    assert both.exit_code == 2 and "not both" in both.output


def test_markdown_card_keeps_table_cells_on_one_line():
    from newstagger.model_card import _cell

    assert _cell("buyers | sellers\n and makers") == "buyers \\| sellers and makers"


def test_info_on_a_missing_model_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(main, ["info", "--model", str(tmp_path / "none.npz")])
    assert result.exit_code == 1 and "model file not found" in result.output and "Traceback" not in result.output


def test_classify_reads_stdin(runner, tiny_model_path):
    result = runner.invoke(main, ["classify", "-", "--model", str(tiny_model_path)], input="India buys jets\n")
    assert result.exit_code == 0
    assert "labels" in json.loads(result.stdout)


def test_classify_with_missing_model_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(main, ["classify", "hello", "--model", str(tmp_path / "none.npz")])
    assert result.exit_code == 1
    assert "model file not found" in result.output and "Traceback" not in result.output


def test_serve_trains_the_default_model_on_first_run(runner, tmp_path, monkeypatch):
    """The quick start: `newstagger serve` in a checkout with seeds/ but no model trains one first."""
    from newstagger import serve as serve_module

    from .conftest import write_tiny_corpus

    write_tiny_corpus(tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSTAGGER_MODEL", raising=False)
    started = {}
    monkeypatch.setattr(serve_module, "run_server", lambda cfg: started.update(cfg))
    result = runner.invoke(main, ["serve", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "newstagger.npz").exists()
    assert started["model"].endswith("models/newstagger.npz") and started["port"] == 8765


def test_tag_help_names_the_settings_without_a_flag(runner):
    result = runner.invoke(main, ["tag", "--help"])
    assert result.exit_code == 0
    for variable in ("NEWSTAGGER_BATCH_CHUNK", "NEWSTAGGER_BATCH_DASK_CHUNK", "NEWSTAGGER_BATCH_MAX_BYTES"):
        assert variable in result.output


def test_python_dash_m_runs_the_command_line():
    """`python -m newstagger` is the same command line as the script, in a fresh process."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "newstagger", "--help"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Usage: newstagger ") and "classify" in out.stdout


@pytest.mark.parametrize("raw,expected", [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False),
                                          ("off", False)])
def test_pin_workers_reads_yes_and_no_from_its_variable(monkeypatch, raw, expected):
    from newstagger.config import resolve

    monkeypatch.setenv("NEWSTAGGER_PIN_WORKERS", raw)
    assert resolve()["pin_workers"] is expected


@pytest.mark.parametrize("variable,raw,message", [
    ("NEWSTAGGER_PIN_WORKERS", "maybe", "must be 1/0, true/false, yes/no or on/off"),
    ("NEWSTAGGER_WORKERS", "abc", "must be a whole number"),
    ("NEWSTAGGER_WORKERS", "0", "must be 1 to 64"),
    ("NEWSTAGGER_PORT", "70000", "must be 1 to 65535"),
    ("NEWSTAGGER_CLOSE_LINGER", "-1", "must be at least 0"),
    ("NEWSTAGGER_CLOSE_LINGER", "soon", "must be a number"),
    ("NEWSTAGGER_MAX_BATCH", "0", "must be at least 1"),
    ("NEWSTAGGER_MAX_TEXT_CHARS", "-5", "must be at least 1"),
    ("NEWSTAGGER_BATCH_MAX_BYTES", "-1", "must be at least 1"),
    ("NEWSTAGGER_LOG_LEVEL", "loud", "must be one of debug, info, warning, error"),
])
def test_a_bad_variable_is_refused_by_name(monkeypatch, variable, raw, message):
    from newstagger.config import SettingError, resolve

    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingError, match=f"^{variable}='{re.escape(raw)}': {re.escape(message)}$"):
        resolve()


def test_variables_are_read_without_surrounding_space_and_log_levels_in_any_case(monkeypatch):
    from newstagger.config import resolve

    monkeypatch.setenv("NEWSTAGGER_MAX_BATCH", " 50 ")
    monkeypatch.setenv("NEWSTAGGER_LOG_LEVEL", "DEBUG")
    settings = resolve()
    assert settings["max_batch"] == 50 and settings["log_level"] == "debug"


@pytest.mark.parametrize("overrides,message", [
    ({"max_batch": 0}, "setting max_batch=0: must be at least 1"),
    ({"max_batch": "10"}, "setting max_batch='10': must be a whole number"),
    ({"close_linger": True}, "setting close_linger=True: must be a number"),
    ({"log_level": "verbose"}, "setting log_level='verbose': must be one of debug, info, warning, error"),
])
def test_a_bad_override_is_refused_by_name(overrides, message):
    from newstagger.config import SettingError, resolve

    with pytest.raises(SettingError, match=f"^{re.escape(message)}$"):
        resolve(overrides)


@pytest.mark.parametrize("command", [["serve"], ["tag", "."]])
def test_commands_refuse_a_bad_variable_as_a_usage_error(runner, monkeypatch, command):
    """One line naming the variable, exit status 2, before any model is loaded or server started."""
    monkeypatch.setenv("NEWSTAGGER_BATCH_MAX_BYTES" if command[0] == "tag" else "NEWSTAGGER_WORKERS", "-1")
    result = runner.invoke(main, command)
    assert result.exit_code == 2, result.output
    assert "must be" in result.output and "Traceback" not in result.output
