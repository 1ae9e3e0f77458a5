"""Outputs never touch inputs (issue 30): every output path of every command is checked,
resolved, before any work; a clash is one line and exit 2, and no input changes."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream_tables import table, write_parts

from barenet.cli import main
from barenet.cli.outputs import Output, check_run_paths
from barenet.errors import BarenetValueError

TRAIN = ["--epochs", "1", "--hidden", "4", "--plot", "none", "--quiet"]


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(*paths):
    """Bytes and modification time of each file under ``paths``."""
    state = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            state[str(file)] = (file.read_bytes(), file.stat().st_mtime_ns)
    return state


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A table, a model trained on it, and a folder of Parquet parts of the same columns."""
    root = tmp_path_factory.mktemp("made")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    frame["y"] = frame["a"] - frame["b"]
    frame.to_csv(root / "v.csv", index=False)
    code = main(
        ["--data", str(root / "v.csv"), "--target", "y", "--save", str(root / "m.npz")] + TRAIN
    )
    assert code == 0
    write_parts(table(400), root / "d", parts=2)
    code = main(
        ["--data", str(root / "d"), "--target", "y", "--save", str(root / "dm.npz")] + TRAIN
    )
    assert code == 0
    return root


@pytest.fixture
def work(made, tmp_path, monkeypatch):
    """A fresh copy of ``made`` as the working folder."""
    for name in ("v.csv", "m.npz", "dm.npz"):
        shutil.copy(made / name, tmp_path / name)
    shutil.copytree(made / "d", tmp_path / "d")
    os.symlink(tmp_path / "v.csv", tmp_path / "link.csv")
    os.symlink(tmp_path / "m.npz", tmp_path / "link.npz")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(args, capsys, work, words):
    """``args`` exits 2 with one line holding ``words``, and changes no input."""
    before = snapshot(work / "v.csv", work / "m.npz", work / "dm.npz", work / "d")
    code, _, err = run(args, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert snapshot(work / "v.csv", work / "m.npz", work / "dm.npz", work / "d") == before


TRAIN_DATA = ["train", "--data", "v.csv", "--target", "y", *TRAIN]


@pytest.mark.parametrize("flag", ["--save", "--checkpoint", "--plot", "--plot-diagnostics"])
@pytest.mark.parametrize("path", ["v.csv", "./v.csv", "sub/../v.csv", "link.csv", "{abs}"])
def test_train_refuses_an_output_that_is_the_data(work, capsys, flag, path):
    path = str(work / "v.csv") if path == "{abs}" else path
    refused([*TRAIN_DATA, flag, path], capsys, work, "is the input --data")


def test_train_refuses_save_and_checkpoint_on_one_path(work, capsys):
    refused([*TRAIN_DATA, "--save", "x.npz", "--checkpoint", "./x.npz"], capsys, work, "is also")
    assert not (work / "x.npz").exists()
    refused([*TRAIN_DATA, "--save", "p.png", "--plot", "sub/../p.png"], capsys, work, "is also")


def test_train_refuses_save_over_the_checkpoint_it_resumes(work, capsys):
    assert run([*TRAIN_DATA, "--checkpoint", "c.npz"], capsys)[0] == 0
    refused([*TRAIN_DATA, "--resume", "c.npz", "--save", "c.npz"], capsys, work, "--resume")
    # continuing a run may update its own checkpoint (read whole before training)
    code, _, err = run([*TRAIN_DATA, "--resume", "c.npz", "--checkpoint", "c.npz"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    "path, words",
    [
        ("sub", "is an existing folder"),
        (".", "is an existing folder"),
        ("missing/m.npz", "folder does not exist"),
        ("v.csv/m.npz", "is not a folder"),
    ],
)
def test_train_refuses_an_output_where_no_file_can_be_written(work, capsys, path, words):
    refused([*TRAIN_DATA, "--save", path], capsys, work, words)
    refused([*TRAIN_DATA, "--checkpoint", path], capsys, work, words)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_before_training(work, capsys):
    (work / "ro").mkdir()
    (work / "ro").chmod(0o500)
    try:
        refused([*TRAIN_DATA, "--save", "ro/m.npz"], capsys, work, "read-only")
    finally:
        (work / "ro").chmod(0o700)


def test_a_read_only_folder_is_refused_by_the_check(work, monkeypatch):
    """The same rule without root's override: the folder's write access is asked."""
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(BarenetValueError, match="read-only"):
        check_run_paths([], [Output("--save", "sub/m.npz")])


@pytest.mark.parametrize(
    "path, words",
    [
        ("v.csv", "is the input --data"),
        ("./v.csv", "is the input --data"),
        ("link.csv", "is the input --data"),
        ("m.npz", "is the input --model"),
        ("sub/../link.npz", "is the input --model"),
        ("sub", "is an existing folder"),
        ("missing/p.csv", "folder does not exist"),
    ],
)
def test_predict_refuses_an_out_that_is_an_input(work, capsys, path, words):
    refused(["predict", "--model", "m.npz", "--data", "v.csv", "--out", path], capsys, work, words)


@pytest.mark.parametrize(
    "path, words",
    [
        ("m.npz", "is the input --model"),
        ("./sub/../link.npz", "is the input --model"),
        ("sub", "is an existing folder"),
        ("missing/m.onnx", "folder does not exist"),
        ("v.csv/m.onnx", "is not a folder"),
    ],
)
def test_export_onnx_refuses_an_out_that_is_the_model(work, capsys, path, words):
    refused(["export-onnx", "--model", "m.npz", "--out", path], capsys, work, words)


@pytest.mark.parametrize("out", ["d/preds", "d/sub/preds", "d", "./d/../d/preds"])
def test_streamed_predict_refuses_an_out_inside_the_input_folder(work, capsys, out):
    args = ["predict", "--model", "dm.npz", "--data", "d", "--out", out]
    refused(args, capsys, work, "inside the input folder")


@pytest.mark.parametrize(
    "out, words",
    [
        ("sub", "already exists"),
        ("v.csv", "already exists"),
        ("dm.npz", "is the input --model"),
        ("missing/preds", "folder does not exist"),
    ],
)
def test_streamed_predict_refuses_an_out_folder_it_cannot_make(work, capsys, out, words):
    args = ["predict", "--model", "dm.npz", "--data", "d", "--out", out]
    refused(args, capsys, work, words)


@pytest.mark.parametrize("out", ["p.csv", "p.parquet", "sub/p.JSON", "p.txt"])
def test_streamed_predict_refuses_an_out_named_like_a_file(work, capsys, out):
    """Not a folder of Parquet parts called p.csv, exit 0: refused, with a name to give."""
    (work / "sub").mkdir(exist_ok=True)
    args = ["predict", "--model", "dm.npz", "--data", "d", "--out", out]
    stem = out.rsplit(".", 1)[0]
    refused(args, capsys, work, f"give a folder name without a suffix, such as --out {stem}")
    assert not (work / out).exists()
    refused([*args[:4], "d/*.parquet", *args[5:]], capsys, work, "folder of Parquet parts")


def test_streamed_predict_refuses_an_out_its_glob_would_read(work, capsys):
    args = ["predict", "--model", "dm.npz", "--data", "d/*.parquet", "--out", "d/x.parquet"]
    refused(args, capsys, work, "matched by the input --data")
    args[-1] = "d/preds"  # a folder of parts the glob does not reach: written
    assert run(args, capsys)[0] == 0 and (work / "d" / "preds").is_dir()


@pytest.mark.parametrize("flag", ["--save", "--checkpoint", "--plot", "--plot-diagnostics"])
def test_streamed_train_refuses_an_output_in_or_of_its_folder(work, capsys, flag):
    args = ["train", "--data", "d", "--target", "y", *TRAIN]
    refused([*args, flag, "d/m.npz"], capsys, work, "inside the input folder")
    refused([*args, flag, "d/part0.parquet"], capsys, work, "is the input --data")
    glob = ["train", "--data", "d/*.parquet", "--target", "y", *TRAIN]
    refused([*glob, flag, "d/part1.parquet"], capsys, work, "is the input --data")
    refused([*glob, flag, "d/new.parquet"], capsys, work, "matched by the input --data")


def test_streamed_predict_leaves_a_partial_folder_it_did_not_create(work, capsys):
    theirs = work / ".preds.partial"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("not barenet's")
    code, _, err = run(["predict", "--model", "dm.npz", "--data", "d", "--out", "preds"], capsys)
    assert code == 0, err
    assert (theirs / "keep.txt").read_text() == "not barenet's"
    assert len(list((work / "preds").glob("*.parquet"))) == 2
    assert [p.name for p in work.glob(".preds*")] == [".preds.partial"]  # its own: removed


@pytest.mark.parametrize("command", ["train", "predict", "evaluate"])
def test_data_from_standard_input_gets_a_clear_message(work, capsys, command):
    args = {
        "train": ["train", "--data", "-", "--target", "y"],
        "predict": ["predict", "--model", "m.npz", "--data", "-"],
        "evaluate": ["evaluate", "--model", "m.npz", "--data", "-"],
    }[command]
    refused(args, capsys, work, "standard input is not supported")


def test_outputs_of_a_correct_run_are_written(work, capsys):
    code, _, err = run(
        [*TRAIN_DATA, "--save", "sub/../new.npz", "--checkpoint", "sub/c.npz"], capsys
    )
    assert code == 0, err
    assert (work / "new.npz").is_file() and (work / "sub" / "c.npz").is_file()
    code, _, err = run(
        ["predict", "--model", "new.npz", "--data", "v.csv", "--out", "p.csv"], capsys
    )
    assert code == 0 and (work / "p.csv").read_text().startswith("predicted_y")


PIECES = st.sampled_from(["v.csv", "m.npz", "link.csv", "link.npz", "sub", "new.csv", "d"])
PREFIXES = st.sampled_from(["", "./", "sub/../", "{abs}/", "sub/", "missing/", "sub/../sub/"])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(prefix=PREFIXES, piece=PIECES, link=st.booleans())
def test_fuzzed_output_paths_never_change_an_input(work, capsys, prefix, piece, link):
    """Random ``./``, ``..``, absolute, symlinked and nested spellings of ``--out``:
    either exit 2 with every input unchanged, or a correct run that wrote the output."""
    path = prefix.replace("{abs}", str(work)) + piece
    for name in ("new.csv", "sub/new.csv", "sub/m.npz", "out-link"):
        (work / name).unlink(missing_ok=True)
    if link:  # the output spelled through a fresh symbolic link to it
        os.symlink(os.path.abspath(path), work / "out-link")
        path = "out-link"
    before = snapshot(work / "v.csv", work / "m.npz", work / "d")
    code = main(["predict", "--model", "m.npz", "--data", "v.csv", "--out", path])
    capsys.readouterr()
    assert snapshot(work / "v.csv", work / "m.npz", work / "d") == before
    if code == 0:
        assert (work / path).read_text().startswith("predicted_y")
    else:
        assert code == 2


SPELLINGS = st.sampled_from(["", "./", "sub/../", "{abs}/", "sub/"])
NAMES = st.sampled_from(["v.csv", "link.csv", "x.npz", "c.npz", "p.png", "d/x.npz", "sub"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(outputs=st.lists(st.tuples(SPELLINGS, NAMES), min_size=1, max_size=4))
def test_fuzzed_equal_and_overlapping_outputs_are_refused_exactly(work, outputs):
    """The rule itself over random spellings of several outputs: it passes exactly when
    every output resolves apart from each other, the inputs, the input folder and any
    existing folder, into a folder that exists."""
    flags = ["--save", "--checkpoint", "--plot", "--plot-diagnostics"]
    paths = [spelling.replace("{abs}", str(work)) + name for spelling, name in outputs]
    resolved = [(work / p).resolve() for p in paths]
    inputs = {(work / "v.csv").resolve()}
    clean = (
        len(set(resolved)) == len(resolved)
        and not inputs & set(resolved)
        and not any(work / "d" in r.parents or r.is_dir() for r in resolved)
        and all(r.parent.is_dir() for r in resolved)
    )
    outs = [Output(flag, p) for flag, p in zip(flags, paths, strict=False)]
    if clean:
        check_run_paths([("--model", "v.csv"), ("--data", "d")], outs)
    else:
        with pytest.raises(BarenetValueError):
            check_run_paths([("--model", "v.csv"), ("--data", "d")], outs)


FOLDER_PREFIXES = st.sampled_from(
    ["", "./", "d/", "d/../", "dl/", "sub/", "sub/../d/", "{abs}/d/"]
)
FOLDER_NAMES = st.sampled_from(["preds", "d", "dl", "part0.parquet", "sub"])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=FOLDER_PREFIXES, name=FOLDER_NAMES, glob=st.booleans())
def test_fuzzed_streamed_predict_outputs_never_change_the_folder(work, capsys, prefix, name, glob):
    """``predict --data FOLDER (or GLOB) --out OUT`` for random spellings of OUT, also
    through a link to the folder: exit 2 with every input unchanged, or parts written
    where the input does not reach (outside the folder; not matched by the glob)."""
    if not (work / "dl").exists():
        os.symlink(work / "d", work / "dl")
    out = prefix.replace("{abs}", str(work)) + name
    inputs = [work / "d" / "part0.parquet", work / "d" / "part1.parquet", work / "dm.npz"]
    data = "d/*.parquet" if glob else "d"
    before = snapshot(*inputs)
    code = main(["predict", "--model", "dm.npz", "--data", data, "--out", out])
    capsys.readouterr()
    assert snapshot(*inputs) == before
    if code == 0:
        written = (work / out).resolve()
        assert len(list(written.glob("*.parquet"))) == 2
        assert glob or work / "d" not in written.parents
        shutil.rmtree(written)  # the next example starts from the same files
    else:
        assert code == 2
