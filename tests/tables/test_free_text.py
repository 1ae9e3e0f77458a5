"""Free text (issue 28, item 2): a text column one-hot would mostly pool away, of several
words a value, becomes one 0/1 feature per frequent word (``barenet.tables.free_text``),
on every route through the one table encoder, described on the summary line, with a
notice that counts the rows holding no learned word."""

import numpy as np
import pandas as pd
import pytest
from text_tables import titled

from barenet.tables import encoder, free_text
from barenet.tables.columns import (
    MIN_CATEGORY_ROWS,
    describe,
    describe_line,
    encode,
    encoded_names,
    fit_columns,
    tally_notice,
)
from barenet.tables.free_text import lower_char, words


def test_words_are_lowercased_one_character_at_a_time_and_split_at_any_whitespace():
    assert words("Senior\tSALES\u00a0Manager\u3000x") == ["senior", "sales", "manager", "x"]
    assert words("ΣΟΦΊΑ Straße ÉCOLE") == ["σοφία", "straße", "école"]  # no final-sigma rule
    assert lower_char("\u212a") == "k"  # the Kelvin sign lowercases to k
    assert lower_char("İ") == "İ"  # its lowercase is two characters: kept
    assert words(encoder.MISSING) == [] and words("\u200b") == ["\u200b"]  # not a space
    assert free_text.MISSING == encoder.MISSING


def test_only_free_text_qualifies():
    rng = np.random.default_rng(0)
    codes = [f"z{int(v)}" for v in rng.integers(0, 400, 1000)]  # one word: a code
    frame = titled(1000).assign(code=codes, city=rng.choice(["a b", "c d", "e"], 1000))
    specs, _ = fit_columns(frame.drop(columns="y"))
    kinds = {spec["name"]: spec["kind"] for spec in specs}
    assert kinds == {"job": "text", "x": "numeric", "code": "category", "city": "category"}


def test_the_words_are_the_frequent_ones_most_frequent_first_ties_in_text_order():
    counts = {"b a": 3, "a c": 2, "c": 3, "E d": 6, "f": 4, "(missing)": 9}
    assert free_text.fit_words(counts, 10, MIN_CATEGORY_ROWS) == ["d", "e", "a", "c"]
    assert free_text.fit_words(counts, 1, MIN_CATEGORY_ROWS) == ["d"]  # 6, 6, 5, 5 rows
    assert MIN_CATEGORY_ROWS == 5


def test_a_free_text_column_encodes_as_word_indicators_and_a_blank_flag():
    frame = titled(1200)
    specs, _ = fit_columns(frame.drop(columns="y"))
    spec = specs[0]
    assert spec["kind"] == "text" and spec["missing"] is True
    assert {"manager", "sales", "straße", "σοφία", "école"} <= set(spec["words"])
    assert not any(w.startswith("x") for w in spec["words"])  # each number in < 5 rows
    x = encode(frame, specs)
    names = encoded_names(specs)
    assert names[-2:] == ["job=(missing)", "x"] and "job~manager" in names
    lower = frame["job"].fillna("").str.lower()
    np.testing.assert_array_equal(
        x[:, names.index("job~manager")], lower.str.contains("manager").to_numpy()
    )
    np.testing.assert_array_equal(x[:, names.index("job=(missing)")], frame["job"].isna())


def test_the_summary_line_names_the_free_text_and_its_words():
    frame = titled(1200)
    specs, dropped = fit_columns(frame.drop(columns="y"))
    line = describe_line(describe(specs, dropped))
    count = len(specs[0]["words"])
    assert f"1 free text as word indicators: job ({count} words + blank)" in line
    assert "imputed" not in line  # a blank text is a feature of its own, not imputed


def test_rows_with_no_learned_word_are_counted_but_not_noted():
    """Training rows hold words of fewer than 5 rows too: a note of them would fire on
    the training rows themselves (the review of the free-text change), so the tally
    counts them and the notice says only what is new: here the blanks."""
    frame = titled(1200)
    specs, _ = fit_columns(frame.drop(columns="y"))
    new = pd.DataFrame({"job": ["Sales  MANAGER", "astronaut", "Astronaut x1", None, "  "]})
    tally = {}
    encode(new.assign(x=0.0), specs, tally)
    notice = tally_notice(tally)
    assert tally["job"]["unseen"] == 2 and tally["job"]["no_words"]
    assert tally["job"]["imputed"] == 2
    assert notice.count("job") == 1 and "imputed 2 blank cells (job: 2)" in notice
    assert "astronaut" not in notice and "unseen" not in notice
    tally = {}
    encode(frame[frame["job"].notna()], specs, tally)  # the training rows: nothing to say
    assert tally_notice(tally) is None


@pytest.mark.parametrize(
    "stored, problem",
    [
        (["manager", "Sales"], "lowercase single words"),
        (["manager", "a b"], "lowercase single words"),
        (["manager", "manager"], "lowercase single words"),
        (["manager", ""], "lowercase single words"),
        (["manager", "(missing)"], "lowercase single words"),
        ("manager", "not a list of text"),
        (["manager", 3], "not a list of text"),
    ],
)
def test_a_stored_spec_fit_words_cannot_make_is_named(stored, problem):
    spec = {"name": "job", "kind": "text", "words": stored, "missing": False}
    assert problem in free_text.text_spec_problem(spec)
    assert free_text.text_spec_problem({**spec, "words": ["a", "b"]}) is None
    assert "true or false" in free_text.text_spec_problem({**spec, "words": ["a"], "missing": 1})
    assert "no words" in free_text.text_spec_problem({**spec, "words": []})


def test_a_refitted_free_text_column_learns_its_words_from_every_row_and_keeps_its_kind():
    from barenet.tables.column_fit import fit_columns, refit_columns

    titles = [f"nurse {i}" for i in range(40)] + ["senior nurse"] * 5 + ["driver"] * 5
    first = pd.DataFrame({"job": titles})
    (spec,), _ = fit_columns(first)
    assert spec["kind"] == "text" and "driver" in spec["words"]
    assert "teacher" not in spec["words"]
    # more rows: a new word reaches 5 rows, and so many repeats that the column would no
    # longer be called free text by the rule; the refit keeps it free text
    more = pd.DataFrame({"job": titles + ["teacher"] * 200})
    (again,) = refit_columns(more, [spec])
    assert again["kind"] == "text"
    assert "teacher" in again["words"] and "driver" in again["words"]
    (category,) = refit_columns(more, [{**spec, "kind": "category", "levels": ["driver"]}])
    assert category["kind"] == "category" and "teacher" in category["levels"]


def reviews(n: int, seed: int = 0) -> list[str]:
    """``n`` texts of several words, each different (a number ends each one)."""
    rng = np.random.default_rng(seed)
    return [f"{rng.choice(['good', 'bad', 'fine'])} {rng.choice(['fit', 'price'])} {i}"
            for i in range(n)]  # fmt: skip


def kinds_of(frame) -> tuple[dict, list[str]]:
    specs, dropped = fit_columns(frame)
    return {spec["name"]: spec["kind"] for spec in specs}, dropped


def test_free_text_with_a_different_value_in_every_row_is_free_text_not_an_identifier():
    texts = reviews(300)
    frame = pd.DataFrame({"review": texts, "code": [f"c{i}" for i in range(300)]})
    kinds, dropped = kinds_of(frame)
    assert kinds == {"review": "text"}
    assert dropped == ["code (an identifier: a different value in every row)"]
    # one duplicate does not change the outcome (it did: the split decided)
    again, _ = kinds_of(pd.DataFrame({"review": [*texts[:-1], texts[0]]}))
    assert again == {"review": "text"}


def test_a_word_in_every_row_is_no_feature_and_alone_makes_no_free_text():
    orders = pd.DataFrame({"order": [f"ORD {100000 + i}" for i in range(300)]})
    kinds, dropped = kinds_of(orders)
    assert kinds == {} and dropped == ["order (an identifier: a different value in every row)"]
    texts = [f"ord {t}" for t in reviews(300)]
    (spec,), _ = fit_columns(pd.DataFrame({"review": [*texts, None]}))
    assert spec["kind"] == "text" and "ord" not in spec["words"]
    assert set(spec["words"]) == {"good", "bad", "fine", "fit", "price"}
    counts = {"ord a": 5, "ord b": 5, free_text.MISSING: 5}  # blank rows do not count
    assert free_text.fit_words(counts, 10, MIN_CATEGORY_ROWS) == ["a", "b"]


def test_the_rows_past_the_max_categories_cap_count_as_pooled():
    counts = {f"a{i} n": 10 for i in range(500)}
    assert free_text.pooled_rows(counts, 200, MIN_CATEGORY_ROWS) == 3000
    assert free_text.pooled_rows({**counts, "b": 4}, 600, MIN_CATEGORY_ROWS) == 4
    assert free_text.is_free_text(counts, 5000, 200, MIN_CATEGORY_ROWS)
    assert not free_text.is_free_text(counts, 5000, 600, MIN_CATEGORY_ROWS)
    rng = np.random.default_rng(0)
    values = [f"a{v} n{v % 7}" for v in rng.permutation(np.repeat(np.arange(500), 10))]
    frame = pd.DataFrame({"t": values})
    assert kinds_of(frame)[0] == {"t": "text"}
    assert fit_columns(frame, max_categories=600)[0][0]["kind"] == "category"


def test_the_note_cuts_long_cells_and_one_word_is_one_word():
    specs = [{"name": "c", "kind": "category", "levels": ["a", "b"], "other": True}]
    huge = " ".join(f"zz{i}" for i in range(20_000))
    tally = {}
    encode(pd.DataFrame({"c": [huge, "astronaut"]}), [{**specs[0], "pooled": []}], tally)
    notice = tally_notice(tally)
    assert len(notice) < 300 and repr(huge[:40] + "...") in notice
    assert "'astronaut'" in notice
    one = [{"name": "t", "kind": "text", "words": ["a"], "missing": False}]
    assert "t (1 word)" in describe_line(describe(one, []))


def test_a_unique_column_of_dates_barenet_cannot_read_is_named_not_taken_as_free_text(tmp_path):
    """Every value differs and most are dates in words: the user is told how to have
    them read, on a file and on a folder alike, not handed a bag of month names."""
    from barenet.tables.column_fit import fit_columns

    days = pd.date_range("2001-01-01", periods=60, freq="7D")
    written = [f"{d.day} {d.strftime('%B')} {d.year}" for d in days]
    written[3], written[10] = "soon after the storm", "late in the year of the flood"
    frame = pd.DataFrame({"when": written, "x": np.arange(60.0) % 7})
    specs, dropped = fit_columns(frame)
    assert [s["name"] for s in specs] == ["x"]
    assert dropped and dropped[0].startswith("when (mostly dates")
    # each date twice: not unique, still dates, not a bag of month names
    twice = pd.concat([frame, frame], ignore_index=True)
    specs, dropped = fit_columns(twice)
    assert [s["name"] for s in specs] == ["x"]
    assert dropped and dropped[0].startswith("when (mostly dates")
