"""``barenet predict`` on a folder says what the encoder did to the cells as on a file: one
note of the blank cells imputed, the categories unseen in training and the values clipped
to the training range, summed over every batch of every part."""

import pandas as pd
import pytest
from stream_tables import table, write_parts

from barenet.cli import main
from barenet.tables.encoder import EXAMPLES_KEPT, add_tally


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("notes")
    table(600).to_csv(root / "train.csv", index=False)
    argv = ["train", "--data", root / "train.csv", "--target", "y", "--epochs", "2"]
    assert main([str(a) for a in [*argv, "--plot", "none", "--save", root / "m.npz"]]) == 0
    return root / "m.npz"


def rows_to_predict() -> pd.DataFrame:
    """40 rows with blanks (x1, colour), unseen colours spread over the parts (more
    distinct ones than a note shows) and far values of x2 in two parts."""
    frame = table(40, seed=1).drop(columns=["y"])
    frame.loc[[0, 15, 33], "colour"] = ["purple", "teal", "purple"]
    frame.loc[[21, 38], "colour"] = ["ochre", "mauve"]
    frame.loc[[3, 25], "x2"] = [1e9, -1e9]
    frame.loc[[5, 30], "x1"] = None
    return frame


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("Note:")]


def test_a_csv_folder_gets_the_note_of_the_same_rows_as_a_file(tmp_path, model_path, capsys):
    frame = rows_to_predict()
    frame.to_csv(tmp_path / "rows.csv", index=False)
    write_parts(frame, tmp_path / "parts", parts=4, kind="csv")  # one batch per part
    capsys.readouterr()
    predict = ["predict", "--model", str(model_path), "--data"]
    assert main([*predict, str(tmp_path / "rows.csv")]) == 0
    on_file = notes(capsys.readouterr().err)
    assert main([*predict, str(tmp_path / "parts"), "--out", str(tmp_path / "out")]) == 0
    on_folder = notes(capsys.readouterr().err)
    assert len(on_file) == 1 and on_folder == on_file
    note = on_file[0]
    x1, colour = int(frame["x1"].isna().sum()), int(frame["colour"].isna().sum())
    assert x1 >= 2 and colour >= 1  # blanks in two columns, counted over every part
    assert note.startswith(f"Note: imputed {x1 + colour} blank cells (x1: {x1}, colour: {colour})")
    assert "5 cells held a category unseen" in note
    assert "colour: 5, e.g. 'purple', 'teal', 'ochre')" in note  # the first three, in order
    assert note.endswith("2 values were outside the training range, clipped to it (x2: 2)")


def test_add_tally_sums_counts_keeps_flags_and_the_first_examples():
    total = {}
    add_tally(total, {"c": {"imputed": 1, "unseen": 2, "examples": ["a", "b"], "no_words": True}})
    add_tally(total, {"c": {"imputed": 0, "unseen": 3, "examples": ["b", "c", "d"]}})
    add_tally(total, {"n": {"imputed": 0, "unseen": 0, "outside_range": 4}})
    assert total == {
        "c": {"imputed": 1, "unseen": 5, "examples": ["a", "b", "c"], "no_words": True},
        "n": {"imputed": 0, "unseen": 0, "outside_range": 4},
    }
    assert len(total["c"]["examples"]) == EXAMPLES_KEPT
