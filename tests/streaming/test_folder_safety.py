"""A folder or glob is read as carefully as one file (issue 30): each file once, links
followed without loops, bad values named by file, column and row, --encoding and
long cells; and --json output that any strict parser reads."""

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream_tables import table, write_parts

import barenet
from barenet.cli import main
from barenet.errors import DataError
from barenet.streaming.folder import csv_block_size, dataset_files, longest_line
from barenet.streaming.source import TableStream

TRAIN = ["--epochs", "1", "--hidden", "4", "--plot", "none", "--quiet"]


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def four_files(folder):
    write_parts(table(400), folder, parts=4, kind="csv")
    return folder


def test_a_link_loop_in_a_recursive_glob_reads_each_file_once(tmp_path):
    folder = four_files(tmp_path / "d")
    os.symlink(".", folder / "loop")
    files, _ = dataset_files(f"{folder}/**/*.csv")
    assert len(files) == 4
    assert len(dataset_files(folder)[0]) == 4
    assert TableStream(f"{folder}/**/*.csv").files == files


def test_two_link_loops_neither_hang_nor_repeat(tmp_path):
    folder = four_files(tmp_path / "d")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")
    os.symlink(".", folder / "loop")
    os.symlink(str(folder), folder / "sub" / "home")
    for pattern in (f"{folder}/**/*.csv", f"{folder}/**", str(folder)):
        files, _ = dataset_files(pattern)
        assert len(files) == 4, pattern
        assert len({p.resolve() for p in files}) == 4


def test_a_file_reached_by_two_links_is_read_once(tmp_path):
    folder = four_files(tmp_path / "d")
    os.symlink(folder / "part0.csv", folder / "again.csv")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(folder, tmp_path / "elsewhere" / "linked")
    assert len(dataset_files(folder)[0]) == 4
    assert len(dataset_files(f"{tmp_path}/**/*.csv")[0]) == 4


def test_a_link_to_a_folder_inside_is_followed(tmp_path):
    four_files(tmp_path / "d" / "real")
    os.symlink("real", tmp_path / "d" / "inner")
    os.symlink(".", tmp_path / "d" / "self")  # a loop: neither hung on nor read twice
    assert len(dataset_files(tmp_path / "d")[0]) == 4
    assert len(dataset_files(f"{tmp_path}/d/**/*.csv")[0]) == 4


@pytest.mark.parametrize(
    "link, target",
    [("up", ".."), ("inner", "../real"), ("far.csv", "../real/part0.csv")],
    ids=["up-level", "folder-outside", "file-outside"],
)
def test_a_link_out_of_the_folder_is_refused_by_name(tmp_path, capsys, link, target):
    """The files outside the folder named (here ``real``, beside it) are never read as
    training data through a link: the run is refused, naming the link and the fix."""
    four_files(tmp_path / "real")
    folder = four_files(tmp_path / "d")
    os.symlink(target, folder / link)
    for data in (folder, f"{folder}/**/*.csv", f"{folder}/*"):
        if link != "far.csv" and data == f"{folder}/*":
            continue  # a one-level glob does not enter folders: that link is not followed
        with pytest.raises(DataError, match="only what is inside the folder given to --data"):
            dataset_files(data)
        code, out, err = run(["train", "--data", data, "--target", "y", *TRAIN], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"{folder / link} is a link to {(folder / target).resolve()}, outside" in err
        assert "remove the link, or give the folder holding the files" in err


@pytest.mark.parametrize("link, target", [("p5.csv", "../out/nothere.csv"), ("p6.csv", "gone")])
def test_a_link_to_nothing_in_a_folder_is_refused_by_name(tmp_path, capsys, link, target):
    """A dangling link named as a data file was skipped without a word (its rows lost)."""
    folder = four_files(tmp_path / "d")
    os.symlink(target, folder / link)
    for data in (folder, f"{folder}/**/*.csv", f"{folder}/*.csv"):
        with pytest.raises(DataError, match="which does not exist"):
            dataset_files(data)
        code, out, err = run(["train", "--data", data, "--target", "y", *TRAIN], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"{folder / link} is a link to {target}, which does not exist" in err
    assert len(dataset_files(f"{folder}/part*.csv")[0]) == 4  # not named: not read
    os.symlink("gone.txt", folder / "notes.txt")  # not data: left alone, as any other file
    (folder / link).unlink()
    assert len(dataset_files(folder)[0]) == 4


def test_a_link_to_a_partition_folder_that_is_gone_is_refused(tmp_path):
    """A dangling link with no suffix may have been a folder of rows (``year=2024``)."""
    folder = four_files(tmp_path / "d")
    os.symlink(tmp_path / "moved" / "year=2024", folder / "year=2024")
    with pytest.raises(DataError, match="year=2024 is a link to .*, which does not exist"):
        dataset_files(folder)


LAYOUT = st.lists(
    st.tuples(
        st.sampled_from(["", "a", "a/b", "c"]),
        st.sampled_from(["file", "loop", "up", "root", "dup"]),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(layout=LAYOUT)
def test_fuzzed_folder_layouts_list_each_real_file_once(tmp_path_factory, layout):
    """Random trees of files, links to files and link loops: the files listed are the
    real files, each once, for the folder and for ``**`` globs."""
    root = tmp_path_factory.mktemp("layout")
    for i, (where, what) in enumerate(layout):
        folder = root / where
        folder.mkdir(parents=True, exist_ok=True)
        name = folder / f"n{i}"
        if what == "file":
            pd.DataFrame({"x": [1.0, 2.0], "y": [i, i]}).to_csv(f"{name}.csv", index=False)
        elif what == "loop":
            os.symlink(".", name)
        elif what == "up" and where:  # (at the top it would leave the tree)
            os.symlink("..", name)
        elif what == "root":
            os.symlink(root, name)
        elif what == "dup" and (root / "n0.csv").exists():
            os.symlink(root / "n0.csv", f"{name}.csv")
    real = {p.resolve() for p in root.rglob("*.csv") if not p.is_symlink()}
    if not real:
        return
    for pattern in (root, f"{root}/**/*.csv", f"{root}/**"):
        files, _ = dataset_files(pattern)
        assert {p.resolve() for p in files} == real
        assert len(files) == len(real)
    rows = sum(batch.num_rows for *_, batch in TableStream(root).batches())
    assert rows == 2 * len(real)  # every row read once: none twice through a link


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e305])
def test_a_bad_number_in_a_folder_names_file_column_and_row(tmp_path, capsys, kind, value):
    frame = table(400)
    frame.loc[250, "x2"] = value  # the second of two parts: its row 51
    write_parts(frame, tmp_path / "d", parts=2, kind=kind)
    code, _, err = run(["--data", tmp_path / "d", "--target", "y", *TRAIN], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"part1.{kind}: column 'x2', data row 51:" in err, err


@pytest.mark.parametrize("decimal", [".", ","])
def test_text_in_a_later_files_number_column_names_the_file_row_and_value(
    tmp_path, capsys, decimal
):
    """Not "holds text (string) but number (double) in part0.csv": the row and value,
    numbered as the file route numbers them, and the fix."""
    frame = table(400).astype({"x2": object})
    frame.loc[250, "x2"] = "hello"  # the second of two parts: its data row 51
    folder = write_parts(frame, tmp_path / "d", parts=2, kind="csv")
    extra = []
    if decimal == ",":  # the same files with decimal commas, as --decimal , reads them
        for path in folder.glob("*.csv"):
            part = pd.read_csv(path)
            part.to_csv(path, index=False, sep=";", decimal=",")
        extra = ["--decimal", ","]
    code, _, err = run(["--data", folder, "--target", "y", *extra, *TRAIN], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "part1.csv: column 'x2', data row 51: 'hello' is not a number" in err, err
    assert "part0.csv" in err and "leave the cell empty" in err


@pytest.mark.parametrize("command", ["train", "predict"])
def test_text_past_the_first_block_names_the_file_row_and_value(tmp_path, capsys, command):
    """Text in a number column beyond the rows Arrow guessed the type from (its first
    megabyte): not Arrow's "CSV conversion error to double", with its own row count. An
    unread column before it shifts no column number."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "d"
    folder.mkdir()
    for i in range(2):
        n = 40_000
        frame = pd.DataFrame({"note": ["skip"] * n, "x": rng.normal(size=n).astype(object)})
        frame["y"] = rng.normal(size=n)
        if i == 1:
            frame.loc[35_000, "x"] = "hello"
        frame.to_csv(folder / f"part{i}.csv", index=False)
    args = ["--data", folder, "--target", "y", "--drop", "note", *TRAIN]
    if command == "predict":
        (folder / "part1.csv").rename(tmp_path / "part1.csv")
        assert run([*args, "--save", tmp_path / "m.npz"], capsys)[0] == 0
        (tmp_path / "part1.csv").rename(folder / "part1.csv")
        args = ["predict", "--model", tmp_path / "m.npz", "--data", folder]
        args += ["--out", tmp_path / "preds"]
    code, _, err = run(args, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "part1.csv: column 'x', data row 35001: 'hello' is not a number" in err, err
    assert "leave the cell empty" in err


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_an_empty_file_in_a_folder_is_named_as_empty(tmp_path, capsys, kind, content):
    """Not Arrow's "Empty CSV file or block": the file, that it is empty, and the fix."""
    folder = four_files(tmp_path / "d") if kind == "csv" else tmp_path / "d"
    if kind == "parquet":
        write_parts(table(400), folder, parts=2)
    (folder / f"zz.{kind}").write_bytes(content)
    code, _, err = run(["--data", folder, "--target", "y", *TRAIN], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"zz.{kind}: the file is empty (no header, no rows): remove it" in err, err
    assert ("header line" in err) == (kind == "csv")


def test_a_corrupt_parquet_page_names_the_file_column_and_rows(tmp_path, capsys):
    folder = write_parts(table(400), tmp_path / "d", parts=2)
    data = bytearray((folder / "part1.parquet").read_bytes())
    middle = len(data) // 3
    data[middle : middle + 200] = b"\xff" * 200
    (folder / "part1.parquet").write_bytes(bytes(data))
    code, _, err = run(["--data", folder, "--target", "y", *TRAIN], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "part1.parquet: not a readable table: column '" in err, err
    assert "data rows 1-200 do not decode" in err, err  # the damaged column chunk's rows


def test_inf_in_a_parquet_folder_at_streamed_predict_is_a_clear_error(tmp_path, capsys):
    folder = write_parts(table(400), tmp_path / "d", parts=2)
    model = tmp_path / "m.npz"
    args = ["--data", folder, "--target", "y", "--save", model, *TRAIN]
    assert run(args, capsys)[0] == 0
    frame = table(100, seed=1)
    frame.loc[7, "x1"] = np.inf
    write_parts(frame, tmp_path / "new", parts=1)
    code, _, err = run(
        ["predict", "--model", model, "--data", tmp_path / "new", "--out", tmp_path / "o"],
        capsys,
    )
    assert code == 2 and "part0.parquet: column 'x1', data row 8: inf" in err, err
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o*"))


def test_encoding_is_applied_to_a_folder(tmp_path, capsys):
    frame = table(400)
    frame["colour"] = frame["colour"].replace({"grey": "gr\u00e9y"})
    (tmp_path / "d").mkdir()
    for i, part in enumerate((frame.iloc[:200], frame.iloc[200:])):
        part.to_csv(tmp_path / "d" / f"p{i}.csv", index=False, encoding="latin-1")
    args = ["--data", tmp_path / "d", "--target", "y", *TRAIN, "--save", tmp_path / "m.npz"]
    code, _, err = run(args, capsys)
    assert code == 2 and "p0.csv: column 'colour' is not utf-8 text" in err, err
    code, _, err = run([*args, "--encoding", "latin-1"], capsys)
    assert code == 0, err
    spec = next(
        s for s in barenet.load(tmp_path / "m.npz").preprocessing.columns if s["name"] == "colour"
    )
    assert "gr\u00e9y" in spec["levels"]


def test_an_unknown_encoding_is_named(tmp_path, capsys):
    four_files(tmp_path / "d")
    code, _, err = run(
        ["--data", tmp_path / "d", "--target", "y", "--encoding", "nope", *TRAIN], capsys
    )
    assert code == 2 and "--encoding nope" in err


def test_a_cell_over_one_megabyte_in_a_folder_is_read(tmp_path, capsys):
    frame = table(300)
    frame["note"] = "short"
    frame.loc[123, "note"] = "x" * 1_500_000
    write_parts(frame, tmp_path / "d", parts=2, kind="csv")
    assert longest_line(tmp_path / "d" / "part0.csv") > 1_500_000
    assert csv_block_size([tmp_path / "d" / "part0.csv"]) >= 4 * 1_500_000
    code, _, err = run(
        ["--data", tmp_path / "d", "--target", "y", "--drop", "note", *TRAIN], capsys
    )
    assert code == 0, err


def test_longest_line_counts_across_read_chunks(tmp_path, monkeypatch):
    from barenet.streaming import folder

    monkeypatch.setattr(folder, "SCAN_CHUNK", 7)
    path = tmp_path / "t.csv"
    path.write_bytes(b"ab\n" + b"c" * 20 + b"\nd\n" + b"e" * 9)
    assert longest_line(path) == 21


# -- strict JSON and no third-party warnings ----------------------------------------


def _strict(text):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def model_and_table(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    frame["y"] = frame["a"] + frame["b"]
    frame.to_csv(tmp_path / "v.csv", index=False)
    args = ["--data", tmp_path / "v.csv", "--target", "y", "--save", tmp_path / "m.npz"]
    assert run([*args, *TRAIN], capsys)[0] == 0
    return tmp_path, frame


def test_evaluate_json_on_a_huge_target_is_strict_with_a_note(model_and_table, capsys, recwarn):
    folder, frame = model_and_table
    frame.assign(y=frame["y"] * 1e200).to_csv(folder / "huge.csv", index=False)
    args = ["evaluate", "--model", folder / "m.npz", "--data", folder / "huge.csv", "--json"]
    code, out, err = run(args, capsys)
    metrics = _strict(out)
    assert code == 0 and metrics["mse"] is None and metrics["r2"] is None
    assert any("mse" in note for note in metrics["notes"])
    assert "Warning" not in err and "overflowed" in err
    assert not [w for w in recwarn if "sklearn" in str(w.filename)]


def test_evaluate_on_one_row_says_why_r2_is_missing(model_and_table, capsys):
    folder, frame = model_and_table
    frame.iloc[:1].to_csv(folder / "one.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning reaching the user fails the test
        code, out, err = run(
            ["evaluate", "--model", folder / "m.npz", "--data", folder / "one.csv", "--json"],
            capsys,
        )
    assert code == 0 and _strict(out)["r2"] is None
    assert "Warning" not in err and "R^2 is not defined on one row" in err


def test_train_json_is_strict_when_a_metric_is_not_finite(tmp_path, capsys):
    write_parts(table(60), tmp_path / "d", parts=1)  # so few rows the test split is empty
    code, out, err = run(
        ["--data", tmp_path / "d", "--target", "y", "--test-size", "0.001", *TRAIN, "--json"],
        capsys,
    )
    assert code == 0, err
    summary = _strict(out)
    assert summary["test"]["mse"] is None
    assert any(note.startswith("test.mse") for note in summary["notes"])


def test_train_json_on_a_huge_target_is_strict_and_shows_no_warning(tmp_path, capsys):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    frame["y"] = (frame["a"] + frame["b"]) * 1e200
    frame.to_csv(tmp_path / "huge.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning reaching the user fails the test
        code, out, err = run(
            ["--data", tmp_path / "huge.csv", "--target", "y", *TRAIN, "--json"], capsys
        )
    summary = _strict(out)
    assert code == 0 and "Warning" not in err, err
    assert summary["baselines"]["least squares"]["mse"] is None
    assert "baselines.least squares.mse is inf (overflow): written as null" in summary["notes"]


def test_a_folder_with_links_is_given_to_dask_as_its_listed_files(tmp_path):
    from barenet.streaming.folder import has_links

    folder = four_files(tmp_path / "d")
    assert not has_links(folder)
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")
    assert has_links(folder)  # so predict_on_dask reads dataset_files' list, each once


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(layout=LAYOUT, glob=st.booleans())
def test_fuzzed_folder_layouts_train_on_each_row_once(tmp_path_factory, capsys, layout, glob):
    """``barenet train`` on random trees with link loops and repeated links: a correct
    run counts each real row once (train + validation + test), or one line and exit 2;
    no file of the tree changes."""
    root = tmp_path_factory.mktemp("train_layout")
    rng = np.random.default_rng(0)
    for i, (where, what) in enumerate(layout):
        folder = root / where
        folder.mkdir(parents=True, exist_ok=True)
        if what in ("file", "dup"):
            x = rng.normal(size=40)
            pd.DataFrame({"x": x, "y": 2 * x}).to_csv(folder / f"n{i}.csv", index=False)
        elif what == "loop":
            os.symlink(".", folder / f"n{i}")
        elif what == "up" and where:
            os.symlink("..", folder / f"n{i}")
    before = {p: p.read_bytes() for p in root.rglob("*.csv") if not p.is_symlink()}
    data = f"{root}/**/*.csv" if glob else str(root)
    capsys.readouterr()
    code, out, err = run(["--data", data, "--target", "y", *TRAIN, "--json"], capsys)
    assert {p: p.read_bytes() for p in root.rglob("*.csv") if not p.is_symlink()} == before
    if code == 0:
        assert sum(json.loads(out)["rows"].values()) == 40 * len(before)
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_a_globs_test_set_is_named_by_the_glob_and_its_file_count(tmp_path, capsys):
    """Not "rows of *.csv": the pattern as given, quoted, and how many files it matched."""
    folder = four_files(tmp_path / "d")
    pattern = f"{folder}/part[0-2].csv"
    code, out, err = run(["--data", pattern, "--target", "y", *TRAIN[:-1]], capsys)
    assert code == 0, err
    assert f"rows of 3 files matching '{pattern}' (original units)" in out, out
    code, out, _ = run(["--data", folder, "--target", "y", *TRAIN[:-1]], capsys)
    assert code == 0 and "rows of d (original units)" in out, out


@pytest.mark.parametrize("kind, offset", [("csv", 2**62), ("parquet", 2**62), ("parquet", 2**63)])
def test_integers_too_large_for_float64_in_a_folder_are_refused_as_in_a_file(
    tmp_path, capsys, kind, offset
):
    """Distinct int64 (uint64) values near 2**62 (2**63) all round to one float64: a file
    refuses them by name; a folder did not (a CSV folder dropped the column as constant,
    a Parquet folder failed with Arrow's 'not in range')."""
    frame = table(400)
    frame["big"] = np.arange(400, dtype=np.uint64) + np.uint64(offset)
    if offset < 2**63:
        frame["big"] = frame["big"].astype(np.int64)
    frame.to_csv(tmp_path / "t.csv", index=False)
    write_parts(frame, tmp_path / "d", parts=2, kind=kind)
    said = {}
    for data in ("t.csv", "d"):
        code, _, err = run(["train", "--data", tmp_path / data, "--target", "y", *TRAIN], capsys)
        assert code == 2, err
        said[data] = err.split(": column 'big'", 1)[1]
    assert "too large to compute with exactly" in said["d"] and "--drop big" in said["d"]
    assert said["d"].split("(")[0] == said["t.csv"].split("(")[0]  # the same message


def test_a_csv_folders_integers_followed_by_decimals_past_the_first_block_are_numbers(
    tmp_path, capsys
):
    """A CSV folder's integer columns are read as text and checked: decimals after the
    first block (whose integers set the column's type) are still numbers."""
    folder = tmp_path / "d"
    folder.mkdir()
    rows = [f"{i},{i % 3}" for i in range(150_000)]  # about 1.3 MB: past the first block
    (folder / "a.csv").write_text("z,y\n" + "\n".join([*rows, "0.5,1"]) + "\n")
    code, _, err = run(["train", "--data", folder, "--target", "y", *TRAIN], capsys)
    assert code == 0, err
