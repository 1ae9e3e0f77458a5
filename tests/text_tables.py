"""A small generated table with a free-text column: job titles typed by hand (several
words, many distinct values, cases and spaces of every kind, accents, blanks), the
target depending on a few of their words."""

import numpy as np
import pandas as pd

WORDS = ["Senior", "sales", "Manager", "nurse", "Teacher", "driver", "ÉCOLE", "Straße", "ΣΟΦΊΑ"]
SPACES = [" ", "  ", "\t", "\u00a0", "\u2003", " \u3000"]


def title(rng) -> str:
    """Two to four words, cased at random, joined by odd spaces, often with a rare
    word (a typo, a number) that makes the value nearly unique."""
    count = int(rng.integers(2, 5))
    chosen = [str(w) for w in rng.choice(WORDS, count)]
    chosen = [w.upper() if rng.random() < 0.2 else w for w in chosen]
    if rng.random() < 0.7:
        chosen.append(f"x{int(rng.integers(0, 10_000))}")
    text = chosen[0]
    for word in chosen[1:]:
        text += str(rng.choice(SPACES)) + word
    return (" " if rng.random() < 0.1 else "") + text


def titled(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """``job`` (free text, about 5 % blank), ``x`` (a number) and ``y`` (the target)."""
    rng = np.random.default_rng(seed)
    jobs = [title(rng) for _ in range(n)]
    frame = pd.DataFrame({"job": jobs, "x": rng.normal(size=n).round(3)})
    lower = frame["job"].str.lower()
    frame["y"] = frame["x"] + 2 * lower.str.contains("manager") - lower.str.contains("driver")
    frame.loc[rng.random(n) < 0.05, "job"] = None
    return frame
