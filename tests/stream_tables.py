"""Small generated tables for the streaming tests: a frame with numbers, text, true/false,
missing values and an identifier, and a writer of it as a folder of parts."""

import numpy as np
import pandas as pd


def table(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 50, n).astype(float),
            "colour": rng.choice(
                ["red", "green", "blue", "grey", "rare"], n, p=[0.4, 0.3, 0.2, 0.099, 0.001]
            ),
            "flag": rng.random(n) < 0.3,
            "id": [f"row{i}" for i in range(n)],
        }
    )
    frame.loc[rng.random(n) < 0.1, "x1"] = np.nan
    frame.loc[rng.random(n) < 0.05, "colour"] = None
    frame["y"] = np.sin(frame["x1"].fillna(0)) + 0.05 * frame["x2"] + (frame["colour"] == "red")
    frame["y"] += 0.05 * rng.normal(size=n)
    return frame


def write_parts(frame, folder, parts=4, kind="parquet"):
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(frame), parts + 1).astype(int)
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        chunk = frame.iloc[start:stop]
        if kind == "parquet":
            chunk.to_parquet(folder / f"part{i}.parquet", index=False)
        else:
            chunk.to_csv(folder / f"part{i}.csv", index=False)
    return folder


FEATURES = ["x1", "x2", "colour", "flag", "id"]
