"""Free text (a job title typed by hand, a short description): a column of many
distinct values of several words, which one-hot would mostly pool into "other", is
encoded as "the value contains this word", one 0/1 feature per frequent word.

A value's words (``words``) are its text lowercased one character at a time
(``lower_char``: Python's ``str.lower`` of that character where it is one character;
the few characters whose lowercase is longer, such as "İ", are kept), then split at
the characters whose ``str.isspace`` is true, as ``str.split()`` splits. A blank value,
or one that is the category spelling of a blank (``MISSING``), has no words.

The column's specification is ``{"name", "kind": "text", "words", "missing"}``: the
words found in at least ``MIN_CATEGORY_ROWS`` (``barenet.tables.column_fit``) training
rows but not in every one that is not blank (a constant feature), at most ``MAX_WORDS``,
the most frequent first, ties in text order; and whether the training rows had blank
values (then a 0/1 "was blank" feature follows the words).

ONNX's own string operators do not fit: onnxruntime 1.32's ``StringNormalizer`` (LOWER)
needs the C library's ``en_US.UTF-8`` locale and fails to load without it (as on the
development machine), and ``StringSplit`` without a delimiter splits at the space " "
alone (not at a tab, a newline or a no-break space). So the graph does not lowercase or
split: ``onnx_word_matches`` tests each word with one ``RegexFullMatch`` (RE2) whose
every character is the class of the characters that ``lower_char`` turns into it,
between two whitespace characters of the same ``isspace`` set or the ends of the value:
the same answer by construction (tested on hostile text).
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

# Free text: one-hot would pool at least this share of the training rows into "other"
# (values with fewer than MIN_CATEGORY_ROWS rows, or past the --max-categories cap), and
# its values have at least FREE_TEXT_WORDS words on average. On the public suite's 13
# tables only the loans table's emp_title qualifies (50 % of its rows in rare titles, 1.9
# words a title); the next most pooled text columns (Sacramento's zip 4.5 %, city 3.5 %,
# hotel_rates' company 1.3 %) are single-word codes and names, and gapminder's countries
# (1.3 words) and leaf's species have none pooled.
FREE_TEXT_POOLED_SHARE = 0.2
FREE_TEXT_WORDS = 1.5
MAX_WORDS = 100  # word features per free-text column at most (and at most --max-categories)
MISSING = "(missing)"  # as barenet.tables.encoder.MISSING (tested equal)


@lru_cache(maxsize=1)
def _lower_table() -> dict[int, str]:
    """``{code point: its one-character lowercase}`` for every character that
    ``lower_char`` changes."""
    table = {}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        low = char.lower()
        if low != char and len(low) == 1:
            table[code] = low
    return table


def lower_char(text: str) -> str:
    """``text`` lowercased one character at a time: each character's ``str.lower``
    where that is one character (no context rules such as the final sigma)."""
    if text.isascii():
        return text.lower()
    return text.translate(_lower_table())


def words(canonical: str) -> list[str]:
    """The words of a value as ``barenet.tables.encoder.canonical_text`` writes it:
    lowercased (``lower_char``) and split at whitespace; none for ``MISSING``."""
    return [] if canonical == MISSING else lower_char(canonical).split()


def pooled_rows(counts: dict, max_categories: int, min_rows: int) -> int:
    """The rows one-hot would pool into "other" (``counts`` as ``is_free_text``): those
    of the values with fewer than ``min_rows`` rows, and of the values past the
    ``max_categories`` most frequent (the ``--max-categories`` cap)."""
    frequent = sorted((c for c in counts.values() if c >= min_rows), reverse=True)
    return sum(counts.values()) - sum(frequent[:max_categories])


def is_free_text(counts: dict, rows: int, max_categories: int, min_rows: int) -> bool:
    """Whether a text column of ``rows`` training rows whose canonical values occur
    ``counts`` times (``{value: rows}``) is free text (see ``FREE_TEXT_POOLED_SHARE``):
    ``max_categories`` is the one-hot levels' cap, ``min_rows`` is ``MIN_CATEGORY_ROWS``,
    the rows a one-hot level needs. Every value may differ (a review, a description):
    the rule runs before a column is dropped as an identifier."""
    present = {v: c for v, c in counts.items() if v != MISSING}
    if not present or rows == 0:
        return False
    pooled = pooled_rows(counts, max_categories, min_rows)
    total_words = sum(len(words(v)) * c for v, c in present.items())
    mean_words = total_words / sum(present.values())
    return pooled >= FREE_TEXT_POOLED_SHARE * rows and mean_words >= FREE_TEXT_WORDS


def fit_words(counts: dict, max_words: int, min_rows: int) -> list[str]:
    """The words found in at least ``min_rows`` training rows but not in every row that
    is not blank (such as "ord" in "ORD 123456": a constant feature), most frequent first
    (ties in text order), at most ``max_words``; ``counts`` as ``is_free_text``."""
    rows_with: dict[str, int] = {}
    for value, count in counts.items():
        for word in set(words(value)):
            rows_with[word] = rows_with.get(word, 0) + count
    present = sum(c for v, c in counts.items() if v != MISSING)
    kept = [(-c, w) for w, c in rows_with.items() if min_rows <= c < present and w != MISSING]
    return [w for _, w in sorted(kept)[:max_words]]


def text_spec(name: str, counts: dict, rows: int | None, max_categories: int, min_rows: int):
    """The ``"text"`` specification (dict) of a free-text column, or None if it is not
    free text (``is_free_text``) or no word is kept (``fit_words``). ``rows=None``: the
    column is known to be free text (a saved model refitted on more rows keeps its kind)."""
    if rows is not None and not is_free_text(counts, rows, max_categories, min_rows):
        return None
    found = fit_words(counts, min(MAX_WORDS, max_categories), min_rows)
    if not found:
        return None
    return {"name": name, "kind": "text", "words": found, "missing": MISSING in counts}


def feature_names(spec: dict) -> list[str]:
    """``name~word`` per word, then ``name=(missing)`` if the spec has blanks."""
    name = spec["name"]
    names = [f"{name}~{word}" for word in spec["words"]]
    return names + ([f"{name}={MISSING}"] if spec["missing"] else [])


def text_spec_problem(spec: dict) -> str | None:
    """What makes a stored ``"text"`` specification one that ``fit_words`` cannot have
    made (None if nothing): its words must be one or more distinct lowercase words (``words`` of
    themselves: text without whitespace, not blank), its ``missing`` true or false."""
    found = spec.get("words")
    if not isinstance(found, list) or not all(isinstance(w, str) for w in found):
        return "its words are not a list of text"
    if not found:
        return "it has no words"
    if any(words(w) != [w] for w in found) or len(set(found)) != len(found):
        return "its words are not distinct lowercase single words"
    if not isinstance(spec.get("missing"), bool):
        return "its 'missing' is not true or false"
    return None


def word_rows(canonical: list[str], spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(features, known)`` of distinct canonical values (k,): 0/1 features (k, width)
    of ``feature_names``, and True (k,) where a value has a word of the spec or is
    blank (False: a value none of whose words was learned)."""
    lookup = {word: i for i, word in enumerate(spec["words"])}
    width = len(spec["words"]) + bool(spec["missing"])
    features = np.zeros((len(canonical), width))
    known = np.zeros(len(canonical), dtype=bool)
    for i, value in enumerate(canonical):
        if value == MISSING:
            known[i] = True
            if spec["missing"]:
                features[i, -1] = 1.0
            continue
        for word in words(value):
            j = lookup.get(word)
            if j is not None:
                features[i, j], known[i] = 1.0, True
    return features, known


@lru_cache(maxsize=1)
def _spaces() -> str:
    """The characters whose ``str.isspace`` is true: where ``str.split()`` splits."""
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


@lru_cache(maxsize=1)
def _upper_classes() -> dict[str, list[str]]:
    """``{lowercase character: the characters lower_char turns into it}``."""
    classes: dict[str, list[str]] = {}
    for code, low in _lower_table().items():
        classes.setdefault(low, []).append(chr(code))
    return classes


def _escaped(char: str) -> str:
    return char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}"


def word_pattern(word: str) -> str:
    """The RE2 pattern that fully matches a text one of whose words is ``word``."""
    space = "[" + "".join(_escaped(c) for c in _spaces()) + "]"
    chars = []
    for char in word:
        same = [char, *_upper_classes().get(char, [])]
        alike = "".join(_escaped(c) for c in same)
        chars.append(f"[{alike}]" if len(same) > 1 else alike)
    return f"(?s)(?:.*{space})?{''.join(chars)}(?:{space}.*)?"


def blank_pattern() -> str:
    """The RE2 pattern that fully matches a blank value (only whitespace) or ``MISSING``
    with whitespace around it."""
    space = "[" + "".join(_escaped(c) for c in _spaces()) + "]*"
    return f"{space}(?:{''.join(_escaped(c) for c in MISSING)})?{space}"


def onnx_word_matches(spec: dict, node) -> str:
    """BOOL (N, width) of the graph input ``spec["name"]`` (STRING (N, 1)): whether each
    row's text has each word, then (if the spec has blanks) whether it is blank."""
    name = spec["name"]
    matches = [node("RegexFullMatch", [name], pattern=word_pattern(w)) for w in spec["words"]]
    if spec["missing"]:
        matches.append(node("RegexFullMatch", [name], pattern=blank_pattern()))
    return matches[0] if len(matches) == 1 else node("Concat", matches, axis=1)
