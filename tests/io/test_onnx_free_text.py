"""A free-text column in ONNX (issue 28, item 2): the graph finds the words as
``barenet predict`` does (``barenet.tables.free_text``: one RegexFullMatch per word,
whose characters are the classes of the characters that lowercase into them), so on
hostile text (cases, every kind of whitespace, accents, the Kelvin sign, emoji, blanks,
the spelling "(missing)") the features are equal and the answers within float32's
rounding."""

import numpy as np
import pandas as pd
import pytest
from text_tables import titled

import barenet
from barenet.cli import main
from barenet.io.onnx.export import export_onnx
from barenet.tables.encoder import canonical_texts
from barenet.tables.free_text import onnx_word_matches, word_rows

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

HOSTILE = [
    "manager", "MANAGER", " Senior  Manager\t", "manager.", "sales\u00a0manager",
    "sales\u2003MANAGER\u3000", "manager\u200b", "\u200bmanager", "sales\x1cmanager",
    "mana\u0307ger", "ÉCOLE", "école", "Ecole", "STRASSE", "Straße", "STRAẞE", "ΣΟΦΊΑ",
    "σοφία x", "σοφιά", "\u212a", "İ", "ǅ", "", "   ", "\u00a0", "(missing)", " (missing) ",
    "(MISSING)", "(missing) manager", "😀", "driver 😀", "東京 driver", "ﬁ", "x1", "x9999",
    "nurse\nteacher", "nurse\r\nteacher", "\tTeacher\t", "a" * 5000 + " nurse",
]  # fmt: skip


def _hostile_rows(seed: int = 1, n: int = 400) -> list[str]:
    """``HOSTILE`` and random strings of their characters, words and spaces."""
    rng = np.random.default_rng(seed)
    pieces = [*"aAkKMmNnRrEeSs", "manager", "MANAGER", "nurse", "Straße", "ΣΟΦΊΑ", "\u212a"]
    pieces += [" ", "\t", "\n", "\u00a0", "\u2003", "\u3000", "\x85", "\u200b", "É", "ß"]
    pieces += ["ẞ", "Σ", "ς", "İ", "ı", "ǅ", "😀", "東", "(", ")", "\u0307"]
    made = ["".join(rng.choice(pieces, int(rng.integers(0, 10)))) for _ in range(n)]
    return HOSTILE + made


def test_the_graphs_words_are_the_words_predict_finds():
    from onnx import TensorProto, helper

    spec = {"name": "t", "kind": "text", "missing": True}
    spec["words"] = ["manager", "école", "σοφία", "straße", "k", "i", "ǆ", "😀", "東京", "ﬁ"]
    nodes = []

    def node(op, inputs, **attributes):
        nodes.append(helper.make_node(op, inputs, [f"v{len(nodes)}"], **attributes))
        return f"v{len(nodes) - 1}"

    out = onnx_word_matches(spec, node)
    width = len(spec["words"]) + 1
    graph = helper.make_graph(
        nodes, "words", [helper.make_tensor_value_info("t", TensorProto.STRING, ["N", 1])],
        [helper.make_tensor_value_info(out, TensorProto.BOOL, ["N", width])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    session = onnxruntime.InferenceSession(model.SerializeToString())
    rows = _hostile_rows()
    got = session.run(None, {"t": np.array(rows, dtype=object).reshape(-1, 1)})[0]
    expected, _ = word_rows(canonical_texts(rows), spec)
    assert expected[:, :-1].sum() > 40 and expected[:, -1].sum() >= 6  # words and blanks
    np.testing.assert_array_equal(got, expected.astype(bool))


def test_onnx_answers_as_predict_on_hostile_free_text(tmp_path):
    titled(1200).to_csv(tmp_path / "t.csv", index=False)
    model_path, onnx_path = tmp_path / "m.npz", tmp_path / "m.onnx"
    code = main(
        ["train", "--data", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "3",
         "--plot", "none", "--save", str(model_path)]
    )  # fmt: skip
    assert code == 0
    model = barenet.load(model_path)
    export_onnx(model, onnx_path)
    rows = _hostile_rows(seed=2)
    x = np.linspace(-2, 2, len(rows))
    frame = pd.DataFrame({"job": [r if r.strip() else None for r in rows], "x": x})
    expected = model.preprocessing.predict(model, frame).ravel()
    session = onnxruntime.InferenceSession(str(onnx_path))
    feeds = {"job": np.array(rows, dtype=object).reshape(-1, 1), "x": x.reshape(-1, 1)}
    got = session.run(["prediction"], feeds)[0][:, 0]
    assert len(np.unique(np.round(expected, 4))) > 20  # the words change the answers
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)  # as onnx_parity
    assert relative.max() < 1e-5
