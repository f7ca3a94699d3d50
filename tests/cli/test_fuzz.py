"""The command line under hostile input: a table of generated bad files, bad flags and
corrupted model directories, each run through ``underdog`` in-process.

The contract, for every case: exit code 0 with finite results, or exit code 2 with exactly
one line ``underdog: error: ...`` on stderr, nothing on stdout and no traceback; a failed
run touches no output file (a report, model directory or predictions file that existed
keeps its bytes, and none appears). The cases are generated from fixed seeds, so the table
is the same on every run; ``CASES`` counts them by category.
"""

from __future__ import annotations

import io
import json
import math
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from underdog.cli import main

TINY = ["--folds", "2", "--epochs", "2", "--patience", "2", "--hidden", "4", "-q"]


def _run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _snapshot(path: Path) -> dict[str, bytes] | None:
    """The bytes of every file under ``path`` (None when it does not exist)."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _assert_contract(args, out_path: Path | None = None) -> int:
    before = None if out_path is None else _snapshot(out_path)
    code, out, err = _run(*args)
    assert code in (0, 2), (args, code, err)
    assert "Traceback" not in err, (args, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("underdog: error: "), (args, err)
        assert out == "", (args, out)
        if out_path is not None:
            assert _snapshot(out_path) == before, f"a failed run touched {out_path}: {args}"
    elif out_path is not None and out_path.suffix == ".csv" and out_path.exists():
        values = pd.read_csv(out_path).select_dtypes("number").to_numpy()
        assert np.isfinite(values).all(), (args, "NaN or inf written")
    return code


# ----------------------------------------------------------------------------- bad tables


def _good_frame(rng: random.Random, rows: int = 40) -> pd.DataFrame:
    labels = ["a"] * (rows - rows // 4) + ["b"] * (rows // 4)
    return pd.DataFrame({
        "x": [rng.gauss(0, 1) for _ in range(rows)],
        "z": [rng.choice(["p", "q", "r"]) for _ in range(rows)],
        "y": labels,
    })  # fmt: skip


#: Changes that make a good CSV's text bad, or merely odd.
def _text_mutations(rng: random.Random, text: str) -> list[tuple[str, str]]:
    lines = text.splitlines()
    cut = rng.randrange(1, len(text))
    return [
        ("empty", ""),
        ("header only", lines[0] + "\n"),
        ("truncated", text[:cut]),
        ("ragged row", text + "1,2,3,4,5\n"),
        ("binary junk", "".join(chr(rng.randrange(1, 256)) for _ in range(300))),
        ("semicolons", text.replace(",", ";")),
        ("no target", text.replace(",y\n", ",w\n", 1)),
        ("duplicate column", text.replace("x,z,y", "x,x,y", 1)),
        (
            "blank labels",
            "\n".join(lines[:1] + [ln.rsplit(",", 1)[0] + "," for ln in lines[1:]]) + "\n",
        ),
        (
            "one class",
            "\n".join(lines[:1] + [ln.rsplit(",", 1)[0] + ",a" for ln in lines[1:]]) + "\n",
        ),
        ("a label of one row", text + "0.5,p,c\n"),
        (
            "huge numbers",
            text
            + "\n".join(f"{v},p,b" for v in ("1e39", "1e99", "1e308", "-1e308", "1e154"))
            + "\n",
        ),
        ("inf and nan", text + "inf,p,a\n-inf,q,b\nnan,r,a\n"),
        ("text in numbers", text + "abc,p,a\n"),
        ("quotes", text + '"0.1,p",a,b\n'),
        ("unicode names", text.replace("x,z,y", "χ,ζ,y", 1)),
        ("bom", "\ufeff" + text),
        ("crlf", text.replace("\n", "\r\n")),
    ]


def _table_cases() -> list[tuple[str, str]]:
    rng = random.Random(0)
    text = _good_frame(rng).to_csv(index=False)
    cases = _text_mutations(rng, text)
    for i in range(12):  # random byte flips of a good file
        chars = list(text)
        for _ in range(rng.randrange(1, 20)):
            chars[rng.randrange(len(chars))] = chr(rng.randrange(32, 127))
        cases.append((f"flipped chars {i}", "".join(chars)))
    return cases


TABLE_CASES = _table_cases()


@pytest.mark.parametrize(("name", "content"), TABLE_CASES, ids=[c[0] for c in TABLE_CASES])
def test_bad_tables_are_one_line_or_a_finite_answer(tmp_path, name, content):
    path = tmp_path / "data.csv"
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    _assert_contract(["weights", path, "--target", "y"])
    report = tmp_path / "report"
    code = _assert_contract(["compare", path, "--target", "y", "--recipes", "balanced",
                             "--out", report, *TINY], out_path=report)  # fmt: skip
    if code == 0:
        summary = json.loads((report / "summary.json").read_text())
        assert summary["recipes"]


KEEL = "@relation r\n@attribute a real\n@attribute c {u, v}\n@attribute y {positive, negative}\n@data\n"
KEEL_CASES = [
    ("no data section", KEEL.replace("@data\n", "")),
    ("undeclared value", KEEL + "1,u,positive\n2,v,negative\n3,u,nagative\n"),
    ("text in a real", KEEL + "x,u,positive\n"),
    ("too many values", KEEL + "1,u,positive,9\n"),
    ("unknown type", KEEL.replace("real", "complex")),
    ("attribute twice", KEEL.replace("@attribute c", "@attribute a")),
    (
        "missing values",
        KEEL + "".join(f"{i},?,{'positive' if i % 4 else 'negative'}\n" for i in range(20)),
    ),
]


@pytest.mark.parametrize(("name", "content"), KEEL_CASES, ids=[c[0] for c in KEEL_CASES])
def test_bad_keel_files(tmp_path, name, content):
    path = tmp_path / "data.dat"
    path.write_text(content)
    _assert_contract(["weights", path, "--target", "y"])


# ----------------------------------------------------------------------------- bad flags


def _flag_cases() -> list[list[str]]:
    rng = random.Random(1)
    values = ["0", "-1", "1e400", "nan", "inf", "abc", "", " ", "99999999999999", "1.5", "-0"]
    flags = ["--folds", "--seeds", "--epochs", "--patience", "--batch-size", "--hidden",
             "--dropout", "--lr", "--weight-decay", "--val-fraction", "--threads", "--jobs",
             "--imbalance-ratio", "--recipes", "--metric", "--dataset", "--model", "--data",
             "--device", "--eval-batch-size"]  # fmt: skip
    cases = [[flag, value] for flag in flags for value in rng.sample(values, 3)]
    cases += [
        ["--recipes", ",,,"],
        ["--recipes", "nope,balanced"],
        ["--model", "nope:fn"],
        ["--model", "os:getcwd"],
        ["--data", "math:pi"],
        ["--frobnicate"],
        ["--dataset"],
    ]
    return cases


FLAG_CASES = _flag_cases()


@pytest.mark.parametrize("flags", FLAG_CASES, ids=[" ".join(c) or "empty" for c in FLAG_CASES])
def test_bad_flags_are_one_line(tmp_path, flags):
    report = tmp_path / "report"
    _assert_contract(["compare", "--dataset", "ecoli1", "--out", report, *TINY, *flags],
                     out_path=report)  # fmt: skip


# ----------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    data = folder / "data.csv"
    _good_frame(random.Random(2), rows=80).to_csv(data, index=False)
    model = folder / "model"
    assert _run("train", data, "--target", "y", "--out", model, "--epochs", "3", "-q")[0] == 0
    return data, model


def _json_mutations(rng: random.Random, meta: dict) -> list[tuple[str, dict]]:
    """Replace one entry of the description (at any depth) by a value of another kind."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((*path, key))
                walk(value, (*path, key))
        elif isinstance(node, list) and node:
            paths.append((*path, 0))
            walk(node[0], (*path, 0))

    walk(meta, ())
    replacements = [None, -1, 0, 10**400, 1e308, -1e308, "x", [], {}, True, [1e308] * 3]
    cases = []
    for i, path in enumerate(rng.sample(paths, min(40, len(paths)))):
        changed = json.loads(json.dumps(meta))
        node = changed
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = rng.choice(replacements)
        cases.append((f"{'.'.join(map(str, path))}#{i}", changed))
    return cases


def test_corrupted_model_directories_are_one_line(trained, tmp_path):
    data, model = trained
    rng = random.Random(3)
    meta = json.loads((model / "model.json").read_text())
    weights = (model / "model.pt").read_bytes()
    cases: list[tuple[str, dict | None, bytes | None]] = [
        (name, changed, None) for name, changed in _json_mutations(rng, meta)
    ]
    for i in range(15):
        flipped = bytearray(weights)
        for _ in range(rng.randrange(1, 10)):
            flipped[rng.randrange(len(flipped))] ^= 0xFF
        cases.append((f"model.pt flipped {i}", None, bytes(flipped)))
    cases += [("model.pt truncated", None, weights[: len(weights) // 3]),
              ("model.pt empty", None, b"")]  # fmt: skip
    preds = tmp_path / "preds.csv"
    for name, changed, content in cases:
        copy = tmp_path / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(model, copy)
        if changed is not None:
            (copy / "model.json").write_text(json.dumps(changed))
        if content is not None:
            (copy / "model.pt").write_bytes(content)
        code = _assert_contract(["predict", copy, data, "--out", preds], out_path=preds)
        assert code == 2 or changed is not None, name  # every damaged model.pt is refused
        preds.unlink(missing_ok=True)
    CASES["corrupted model directories"] = len(cases)


def test_prediction_files_and_targets(trained, tmp_path):
    data, model = trained
    frame = pd.read_csv(data)
    rng = np.random.default_rng(4)
    inputs = {
        "huge values": frame.assign(x=[1e39, -1e39, 1e308, math.inf] * (len(frame) // 4)),
        "text in a number": frame.assign(x=["abc"] * len(frame)),
        "missing column": frame.drop(columns=["z"]),
        "unseen levels": frame.assign(z=rng.choice(["new", "other"], len(frame))),
        "blank categories": frame.assign(z=[None] * len(frame)),
    }
    preds = tmp_path / "preds.csv"
    for name, changed in inputs.items():
        path = tmp_path / f"{name}.csv"
        changed.to_csv(path, index=False)
        _assert_contract(["predict", model, path, "--out", preds], out_path=preds)
        preds.unlink(missing_ok=True)
    # Targets that are the command's own files, a directory, an empty name.
    readonly = tmp_path / "readonly.csv"
    readonly.write_text("keep")
    readonly.chmod(0o444)
    for target in (data, model / "model.json", model, readonly):
        _assert_contract(["predict", model, data, "--out", target], out_path=Path(target))
    assert readonly.read_text() == "keep"
    assert _run("predict", model, data, "--out", "")[0] == 2
    CASES["prediction inputs and outputs"] = len(inputs) + 5


#: Cases by category (the model tests add theirs when they run).
CASES = {
    "bad tables (CSV) x 2 commands": len(TABLE_CASES) * 2,
    "bad KEEL files": len(KEEL_CASES),
    "bad flags": len(FLAG_CASES),
}
