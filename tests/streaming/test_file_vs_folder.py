"""The same rows as one file and as a folder of parts (``barenet train --data folder/``):
the same options resolve to the same configuration and are reported alike, and what
a folder cannot apply is refused by name (barenet.streaming.options.stream_config)."""

import json

import pytest
from stream_tables import table, write_parts

from barenet.cli import main
from barenet.training.config import TrainConfig

TARGET = ["--target", "y", "--json"]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The same 3,000 rows as ``t.csv`` and as the folder ``d`` of four CSV parts."""
    root = tmp_path_factory.mktemp("same_rows")
    frame = table(3000)
    frame.to_csv(root / "t.csv", index=False)
    write_parts(frame, root / "d", kind="csv")
    return root


def train(capsys, data, *options):
    code = main(["train", "--data", str(data), *TARGET, *options])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else None, out.err


def test_the_same_options_resolve_and_report_alike(places, capsys, monkeypatch):
    monkeypatch.chdir(places)
    options = ["--epochs", "3", "--seed", "1", "--lr", "0.02", "--plot", "p.png"]
    options += ["--time-limit", "1e-6"]  # spent by any first epoch: stopped after it
    code_file, file, _ = train(capsys, "t.csv", *options, "--save", "f.npz")
    code_folder, folder, _ = train(capsys, "d", *options, "--save", "d.npz")
    assert code_file == code_folder == 0
    assert (
        file["config"]
        == folder["config"]
        == TrainConfig(epochs=3, seed=1, lr=0.02, time_limit=1e-6).to_json()
    )
    for key in ("task", "columns", "validation", "recipe_choice", "epochs_trained"):
        assert file[key] == folder[key], key
    assert file["time_limit_cut"] == folder["time_limit_cut"]
    assert folder["time_limit_cut"] == "stopped by --time-limit (1e-06 s) after 1 of 3 epochs"
    assert file["plot"] == folder["plot"] == "p.png" and (places / "p.png").stat().st_size
    # every row is a training or a test row on both routes; which rows differs (a random
    # split of a file, a split by row hash of a folder: barenet.streaming.source.split_of)
    assert file["rows"]["train"] + file["rows"]["test"] == 3000
    assert folder["rows"]["train"] + folder["rows"]["test"] == 3000
    # what one route reports and the other does not, named here so a new one fails
    assert set(file) - set(folder) == {"task_reason"}
    assert set(folder) - set(file) == {"rows_per_second"}
    assert folder["baselines"] == {} and "least squares" in file["baselines"]
    assert set(file["test"]) == set(folder["test"])


def test_data_alone_is_auto_for_a_file_and_the_defaults_for_a_folder_said_so(
    places, capsys, monkeypatch
):
    monkeypatch.chdir(places)
    code, file, _ = train(capsys, "t.csv", "--plot", "none", "--time-limit", "1e-6")
    assert code == 0 and file["recipe_choice"].startswith("recipe auto chose tabular")
    code, folder, err = train(capsys, "d", "--plot", "none", "--epochs", "1")
    assert code == 0 and folder["config"]["recipe"] is None and "Note:" not in err
    code, folder, err = train(capsys, "d", "--plot", "none", "--time-limit", "1e-6")
    defaults = TrainConfig(time_limit=1e-6).with_epochs_for(folder["rows"]["train"])
    assert code == 0 and folder["config"] == defaults.to_json()
    assert "Note: a folder or glob trains with barenet train's defaults (sgd" in err
    assert "--recipe auto, the default for one file, is not available for a folder" in err


@pytest.mark.parametrize(
    "options, named",
    [
        (["--recipe", "auto"], "--recipe auto is not available for a folder"),
        (["--recipe", "tabular"], "--early-stopping is not available for a folder or glob yet"),
        (["--early-stopping", "3"], "--early-stopping is not available for a folder"),
        (["--plot-diagnostics", "x.png"], "--plot-diagnostics watches a table held in memory"),
    ],
)
def test_what_a_folder_cannot_apply_is_refused_by_name(places, capsys, options, named):
    code, _, err = train(capsys, places / "d", "--plot", "none", *options)
    assert code == 2 and named in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
