"""Property-based fuzzing of the command line and of model files (issue 22).

Random tables (numbers, integers, text, true/false, percentages; missing, infinite
and huge values; odd and repeated names; ragged rows) go through ``barenet train``
and ``barenet predict``; tampered model records go through ``barenet.load``. Every
outcome is a result with finite numbers and no blank cell, or a ``BarenetError``
(exit status 2, or 1 for a diverged training): never a traceback (status 3), never
another exception. ``derandomize=True`` makes CI deterministic; small tables and one
epoch keep it to a few seconds per test.
"""

import contextlib
import copy
import csv
import io
import json
import os
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import barenet
from barenet.cli import main
from barenet.errors import BarenetError

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = st.sampled_from(["a", "b", "x 1", " a", "a ", "é", "", "y,z", 'q"t', "Unnamed: 0", "1"])
SPECIAL = st.sampled_from(["", "nan", "inf", "-inf", "1e308", "3e38", "?", "NA", " "])


@st.composite
def cells(draw, kind, n):
    """``n`` cells of a column of ``kind``, some replaced by odd values."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "float":
        values = [f"{v:.6g}" for v in rng.standard_normal(n) * 10 ** draw(st.integers(-3, 6))]
    elif kind == "int":
        values = [str(v) for v in rng.integers(0, draw(st.integers(2, 40)), n)]
    elif kind == "text":
        values = list(rng.choice(["red", "green", "blue", "x"], n))
    elif kind == "bool":
        values = list(rng.choice(["true", "false"], n))
    else:  # percentages
        values = [f"{v:.1f}%" for v in rng.uniform(0, 100, n)]
    for _ in range(draw(st.integers(0, 3))):
        values[draw(st.integers(0, n - 1))] = draw(SPECIAL)
    return values


@st.composite
def tables(draw):
    """``(csv text, target name)``: a small table, sometimes with odd names or
    ragged rows."""
    n = draw(st.integers(12, 60))
    n_columns = draw(st.integers(2, 4))
    kinds = [
        draw(st.sampled_from(["float", "int", "text", "bool", "percent"]))
        for _ in range(n_columns)
    ]
    names = [f"c{i}" for i in range(n_columns)]
    if draw(st.booleans()):
        names[draw(st.integers(0, n_columns - 1))] = draw(NAMES)
    columns = [draw(cells(kind, n)) for kind in kinds]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    rows = [list(row) for row in zip(*columns, strict=True)]
    for _ in range(draw(st.integers(0, 1)) * draw(st.integers(1, 2))):  # ragged rows
        row = rows[draw(st.integers(0, n - 1))]
        row.append("7") if draw(st.booleans()) else row.pop()
    writer.writerows(rows)
    return buffer.getvalue(), draw(st.sampled_from(names))


def _run(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _check_predictions(text: str) -> None:
    """Every cell written; every numeric answer finite."""
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) >= 2
    for row in rows[1:]:
        assert len(row) == len(rows[0]) and all(cell != "" for cell in row), row
        for cell in row:
            try:
                value = float(cell)
            except ValueError:
                continue  # a class label
            assert np.isfinite(value), row


def test_fuzzed_tables_give_finite_answers_or_a_barenet_error():
    cases = []

    @FUZZ
    @given(table=tables(), engine=st.sampled_from(["fused", "compiled"]))
    def fuzz(table, engine):
        cases.append(table)
        _check_a_table(table, engine)

    fuzz()
    assert len(cases) >= 20  # the property ran its examples


def _check_a_table(table, engine):
    text, target = table
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "t.csv")
        model = os.path.join(folder, "m.npz")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        code, _, err = _run(
            ["--data", path, "--target", target, "--epochs", 1, "--batch-size", 4]
            + ["--engine", engine, "--plot", "none", "--save", model, "--quiet"]
        )
        assert code in (0, 1, 2), err  # 3 is a traceback
        assert "Traceback" not in err, err
        if code != 0:
            return
        code, out, err = _run(["predict", "--model", model, "--data", path])
        assert code in (0, 2) and "Traceback" not in err, err
        if code == 0:
            _check_predictions(out)


def _valid_model_file(folder):
    """A saved classifier with table columns (numbers and a category)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.standard_normal(80), "c": rng.choice(["p", "q", "r"], 80)}
    ).assign(k=lambda f: np.where(f["a"] > 0, "hi", "lo"))
    path = os.path.join(folder, "t.csv")
    frame.to_csv(path, index=False)
    model = os.path.join(folder, "m.npz")
    code, _, err = _run(
        ["--data", path, "--target", "k", "--epochs", 1, "--plot", "none"]
        + ["--save", model, "--quiet"]
    )
    assert code == 0, err
    return model, frame


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**13), 10**13),
    st.sampled_from([0, 1, 2, 3, 10**8, 10**12, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(-3, 5), max_size=4),
)


def _paths(value, prefix=()):
    """Every (path, leaf) of a JSON document, lists and dicts included."""
    yield prefix, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_model")
    path, frame = _valid_model_file(str(folder))
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    return json.loads(str(arrays.pop("__meta__"))), arrays, frame


def test_fuzzed_model_records_load_or_give_a_model_file_error(valid_file):
    cases = []

    @FUZZ
    @given(data=st.data())
    def fuzz(data):
        cases.append(data)
        _check_a_record(valid_file, data)

    fuzz()
    assert len(cases) >= 20  # the property ran its examples


def _check_a_record(valid_file, data):
    meta, arrays, frame = copy.deepcopy(valid_file)
    places = [
        p
        for p, _ in _paths({"record": meta["record"], "preprocessing": meta["preprocessing"]})
        if p
    ]
    for _ in range(data.draw(st.integers(1, 3))):
        place = data.draw(st.sampled_from(places))
        parent = meta
        with contextlib.suppress(IndexError, KeyError, TypeError):  # an earlier draw
            for key in place[:-1]:  # may have replaced a container on this path
                parent = parent[key]
        if isinstance(parent, (dict, list)):
            with contextlib.suppress(IndexError, KeyError, TypeError):
                parent[place[-1]] = data.draw(JSON_VALUES)
    if data.draw(st.booleans()):  # and sometimes an array of another shape or value
        key = data.draw(st.sampled_from(sorted(arrays)))
        arrays[key] = data.draw(
            st.sampled_from([arrays[key][:1], arrays[key] * np.nan, np.zeros(3, np.float32)])
        )
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "tampered.npz")
        with open(path, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
        try:
            model = barenet.load(path)
        except BarenetError:
            return
        try:  # loaded: it predicts finite answers for the training rows, or says why not
            answers = model.preprocessing.predict(model, frame)
        except BarenetError:
            return
        assert len(answers) == len(frame)
        if np.asarray(answers).dtype.kind == "f":
            assert np.isfinite(answers).all()
