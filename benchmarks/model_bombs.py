"""Model-file bombs: small ``.npz`` files whose members decompress to about 1 GB.

Builds, from a real saved model, one file per way of hiding the bytes (an unknown
member, a raw member without an array header, the description, a real parameter of the
wrong shape, declared small enough to pass the size budget and refused by its shape,
and declared huge); one file per layer kind whose record claims a huge layer (about
90,000,000 numbers, or bins' tables of 80,000,000) over small stored arrays and 1.5
million stored zero weights (``claim_bombs``: records that barenet's previous check, the
claimed sizes' product against 64 times the stored weights, let ``build`` allocate);
plus the honest file, the largest honest models a small file may hold (33 MB of zero
weights deflated to 33 kB; 52 MB of weights in a 9.5 MB file) and a retrieval model
of 1,000,000 held rows (whose prediction must run in bounded chunks). Each file is
loaded (and the retrieval model predicts 1,000 rows) in a fresh process under
``/usr/bin/time -v``; the table gives the file's size, the exit code, the seconds and
CPU seconds ``barenet.load`` took (and the prediction, inside the process), the whole
process's wall-clock and CPU (user + system) seconds (Python's start and barenet's
import included) and peak RSS, and the outcome. On a busy machine the CPU seconds
estimate the seconds on an idle one.

Target (issue 30): every file under 10 MB loaded or refused within 1 s and 300 MB RSS.

    python benchmarks/model_bombs.py [--folder DIR]

``tests/io/test_model_bombs.py`` builds the same bombs with ``build_bombs``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

GB = 2**30
CHUNK = 2**24


def honest_model(path: Path) -> Path:
    """A small saved regressor: Linear(3, 4), Relu, Linear(4, 1)."""
    import barenet
    from barenet import MLP, MSE, Linear, Relu

    model = MLP([Linear(3, 4, seed=0), Relu(), Linear(4, 1, seed=1)], MSE(), 0.1)
    return barenet.save(model, path)


def _npy_header(dtype: str, shape: tuple) -> bytes:
    import io

    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def _rewrite(source: Path, target: Path, replace: dict) -> Path:
    """``source``'s members, with ``replace``'s (name -> (head bytes, zero bytes after))
    written deflated instead of (or besides) them."""
    with zipfile.ZipFile(source) as old:
        kept = {n: old.read(n) for n in old.namelist() if n not in replace}
    with zipfile.ZipFile(target, "w") as new:
        for name, data in kept.items():
            new.writestr(name, data)
        for name, (head, zeros) in replace.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with new.open(info, "w", force_zip64=True) as member:
                member.write(head)
                block = bytes(CHUNK)
                for start in range(0, zeros, CHUNK):
                    member.write(block[: min(CHUNK, zeros - start)])
    return target


def build_bombs(folder, size: int = GB) -> dict[str, Path]:
    """The bomb files (name -> path) in ``folder``, each decompressing to ``size`` bytes."""
    folder = Path(folder)
    honest = honest_model(folder / "honest.npz")
    text = json.loads(str(np.load(honest)["__meta__"]))
    encoded = json.dumps(text).encode("utf-32-le")
    columns = size // 12  # a (3, columns) float32 array of about ``size`` bytes
    wrong = 24 * 2**20 // 12  # 24 MB declared: within the size budget, refused by shape
    meta_chars = 24 * 2**20 // 4  # 24 MB declared: within the budget, over the text's cap
    plans = {
        "unknown_member": {"extra.npy": (_npy_header("<f4", (3, columns)), 12 * columns)},
        "raw_member": {"param/0.b.npy": (b"", size)},
        "metadata": {
            "__meta__.npy": (_npy_header(f"<U{size // 4}", ()) + encoded, size - len(encoded))
        },
        "metadata_24mb": {
            "__meta__.npy": (
                _npy_header(f"<U{meta_chars}", ()) + encoded,
                4 * meta_chars - len(encoded),
            )
        },
        "wrong_shape": {"param/0.w.npy": (_npy_header("<f4", (3, columns)), 12 * columns)},
        "wrong_shape_24mb": {"param/0.w.npy": (_npy_header("<f4", (3, wrong)), 12 * wrong)},
    }
    bombs = {"honest": honest}
    for name, replace in plans.items():
        bombs[name] = _rewrite(honest, folder / f"{name}.npz", replace)
    return bombs


BALLAST = 1_500_000  # zero weights each claim bomb stores (deflated: a few kB)


def _kind_models():
    """Kind -> the small layers of an honest model of that kind (4 features in)."""
    from barenet import BatchNorm1d, Linear, Relu
    from barenet.tabular.embeddings import (
        FeatureLinear,
        PeriodicEmbedding,
        PiecewiseLinearEncoding,
    )
    from barenet.tabular.ensemble import Ensemble, EnsembleLinear, EnsembleMean, MemberScale
    from barenet.tabular.passthrough import PiecewisePassthrough
    from barenet.tabular.retrieval import Retrieval

    edges = [[0.0, 1.0, 2.0]] * 4
    rows = np.random.default_rng(0).standard_normal((50, 4))
    return {
        "linear": [Linear(4, 8, seed=0), Relu()],
        "batchnorm": [BatchNorm1d(4)],
        "ensemble": [
            Ensemble(2, 4),
            MemberScale(2, 4, seed=0),
            EnsembleLinear(4, 3, 2, shared=False, seed=0),
            EnsembleMean(2, 3),
        ],
        "periodic": [PeriodicEmbedding(4, 2, seed=0), FeatureLinear(4, 4, 2, seed=0)],
        "piecewise": [PiecewiseLinearEncoding(edges), FeatureLinear(4, 2, 2, seed=0)],
        "passthrough": [PiecewisePassthrough(4, [0, 1, 2, 3], edges, 2, seed=0)],
        "retrieval": [Retrieval(4, 1, 50, rows=rows, targets=rows[:, :1], heads=1, dim=4)],
    }


def _edges(n_features: int, n_bins: int) -> list[list[float]]:
    """One feature of ``n_bins`` bins, the others of one: few numbers, padded to many."""
    return [[float(e) for e in range(n_bins + 1)]] + [[0.0, 1.0]] * (n_features - 1)


# claim bomb -> (the honest model's kind, the layer changed, its configuration's changes)
CLAIMS = {
    "claim_linear": ("linear", 0, {"in_dim": 90, "out_dim": 1_000_000}),
    "claim_batchnorm": ("batchnorm", 0, {"num_features": 1_000_000}),
    "claim_member_scale": ("ensemble", 1, {"k": 100, "dim": 900_000}),
    "claim_ensemble_linear": ("ensemble", 2, {"in_dim": 300, "out_dim": 300, "k": 1000}),
    "claim_periodic": ("periodic", 0, {"n_features": 100, "n_frequencies": 900_000}),
    "claim_feature_linear": ("periodic", 1, {"n_features": 1000, "in_dim": 300, "out_dim": 300}),
    "claim_piecewise_bins": ("piecewise", 0, {"edges": _edges(20_000, 1000)}),
    "claim_passthrough": (
        "passthrough",
        0,
        {
            "n_features": 1000,
            "embedded": list(range(1000)),
            "edges": _edges(1000, 1000),
            "out_dim": 80,
        },
    ),  # fmt: skip
    "claim_retrieval_rows": ("retrieval", 0, {"target_dim": 80, "n_rows": 1_000_000}),
}


def honest_kind_model(folder, kind: str) -> Path:
    """A saved, deflated model of ``kind``'s layers, then ``BALLAST`` zero weights."""
    import barenet
    from barenet import MLP, MSE, Linear

    layers = _kind_models()[kind]
    width = MLP(layers, MSE(), 0.1).out_dim
    ballast = Linear(width, BALLAST // width, seed=0)
    ballast.w[...] = 0.0
    model = MLP([*layers, ballast], MSE(), 0.1)
    plain = barenet.save(model, Path(folder) / f"{kind}_plain.npz")
    return _deflate(plain, Path(folder) / f"honest_{kind}.npz")


def claim_bombs(folder) -> dict[str, Path]:
    """Claim bomb name -> file: an honest model of a layer kind whose record now claims
    a huge layer, its stored arrays unchanged; and ``honest_<kind>`` -> the honest file."""
    folder = Path(folder)
    files = {}
    for name, (kind, index, changes) in CLAIMS.items():
        honest = files.get(f"honest_{kind}") or honest_kind_model(folder, kind)
        files[f"honest_{kind}"] = honest

        def claim(meta, index=index, changes=changes):
            meta["record"]["layers"][index]["config"].update(changes)

        files[name] = with_meta(honest, folder / f"{name}.npz", claim)
    return files


def with_meta(source: Path, target: Path, change) -> Path:
    """``source`` with its description changed by ``change(meta)``, deflated."""
    with zipfile.ZipFile(source) as old:
        kept = {n: old.read(n) for n in old.namelist() if n != "__meta__.npy"}
    with np.load(source) as data:
        meta = json.loads(str(data["__meta__"]))
    change(meta)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in kept.items():
            new.writestr(name, data)
        with new.open("__meta__.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, np.array(json.dumps(meta)))
    return target


def largest_allowed(folder) -> Path:
    """An honest model as large as a small file may be: Linear(2880, 2880) with zero
    weights (33 MB of arrays), deflated to about 35 kB; it loads (the size budget is 32
    MiB plus twice the file)."""
    import barenet
    from barenet import MLP, MSE, Linear

    layer = Linear(2880, 2880, seed=0)
    layer.w[...] = 0.0
    plain = barenet.save(MLP([layer], MSE(), 0.1), Path(folder) / "largest_plain.npz")
    return _deflate(plain, Path(folder) / "largest_allowed.npz")


def largest_10mb(folder) -> Path:
    """The largest honest model a file just under 10 MB may hold: Linear(3600, 3600),
    2,600,000 random weights (which barely deflate) and 10,360,000 zero ones (52 MB of
    arrays; the size budget is 32 MiB plus twice the file's 9.6 MB)."""
    import barenet
    from barenet import MLP, MSE, Linear

    layer = Linear(3600, 3600, seed=0)
    layer.w.ravel()[2_600_000:] = 0.0
    plain = barenet.save(MLP([layer], MSE(), 0.1), Path(folder) / "largest_10mb_plain.npz")
    return _deflate(plain, Path(folder) / "largest_10mb.npz")


def _deflate(plain: Path, target: Path) -> Path:
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            new.writestr(name, old.read(name), compresslevel=9)
    plain.unlink()
    return target


def retrieval_model(folder, n_rows: int = 1_000_000) -> Path:
    """A regressor of ``n_rows`` held rows (4 features), saved, then recompressed."""
    import barenet
    from barenet import MLP, MSE, Linear
    from barenet.tabular.retrieval import Retrieval

    rows = np.round(np.random.default_rng(0).standard_normal((n_rows, 4)), 1)
    layer = Retrieval(4, 1, n_rows, rows=rows, targets=rows[:, :1], heads=1, dim=4, seed=0)
    model = MLP([layer, Linear(layer.out_dim, 1, seed=1)], MSE(), 0.1)
    plain = barenet.save(model, Path(folder) / "retrieval_plain.npz")
    return _deflate(plain, Path(folder) / "retrieval_1m_rows.npz")


LOAD = """
import sys, time, barenet
from barenet.errors import ModelFileError
start, cpu = time.perf_counter(), time.process_time()
def took():
    return f"{time.perf_counter() - start:.3f} {time.process_time() - cpu:.3f}"
try:
    model = barenet.load(sys.argv[1])
except ModelFileError as error:
    print(took(), "refused:", str(error).split(": ", 1)[1][:60])
    sys.exit(2)
if len(sys.argv) > 2:
    import numpy as np
    model.eval()
    model.predict(np.random.default_rng(1).standard_normal((1000, 4)).astype(np.float32))
    print(took(), "loaded, predicted 1,000 rows")
else:
    print(took(), "loaded")
"""


def measure(path: Path, predict: bool = False) -> dict:
    """Load ``path`` in a fresh Python under ``/usr/bin/time -v``: the seconds and CPU
    seconds of ``barenet.load`` (and the prediction) inside the process, and the whole
    process's seconds, CPU seconds (user + system: what a busy machine inflates least)
    and peak RSS."""
    command = ["/usr/bin/time", "-v", sys.executable, "-c", LOAD, str(path)]
    done = subprocess.run(
        command + (["predict"] if predict else []), capture_output=True, text=True
    )
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", done.stderr).group(1)
    cpu = sum(
        float(re.search(rf"{kind} time \(seconds\): (\S+)", done.stderr).group(1))
        for kind in ("User", "System")
    )
    minutes, seconds = wall.rsplit(":", 1)
    inside, inside_cpu, outcome = (done.stdout.strip().split(" ", 2) + ["", "", ""])[:3]
    number = inside[:1].isdigit()
    return {
        "file": path.name,
        "load_s": float(inside) if number else float("nan"),
        "load_cpu_s": float(inside_cpu) if number else float("nan"),
        "kB": path.stat().st_size // 1000,
        "exit": done.returncode,
        "seconds": 60 * float(minutes) + float(seconds),
        "cpu_s": cpu,
        "rss_MB": rss / 1000,
        "outcome": (outcome if number else "") or done.stderr.strip().splitlines()[-1],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", help="where to build the files (default: a temp folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.folder or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        files = [(p, False) for p in build_bombs(folder).values()]
        files += [(p, False) for p in claim_bombs(folder).values()]
        files.append((largest_allowed(folder), False))
        files.append((largest_10mb(folder), False))
        files.append((retrieval_model(folder), True))
        baseline = measure(Path(sys.executable), False)  # a non-zip: refused at once
        print(
            f"python + barenet import, a non-model refused: {baseline['seconds']:.2f} s "
            f"({baseline['cpu_s']:.2f} s CPU), {baseline['rss_MB']:.0f} MB RSS"
        )
        print(
            f"{'file':26} {'kB':>6} {'exit':>4} {'load s':>6} {'cpu s':>6} {'all s':>6} "
            f"{'cpu s':>6} {'RSS MB':>6}  outcome"
        )
        for path, predict in files:
            row = measure(path, predict)
            print(
                f"{row['file']:26} {row['kB']:>6} {row['exit']:>4} {row['load_s']:>6.3f} "
                f"{row['load_cpu_s']:>6.3f} {row['seconds']:>6.2f} {row['cpu_s']:>6.2f} "
                f"{row['rss_MB']:>6.0f}  {row['outcome'][:70]}"
            )


if __name__ == "__main__":
    main()
