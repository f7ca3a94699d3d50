"""Model directories: a corrupt or mismatched ``model.pt``, or a ``model.json`` with a
missing, mistyped or inconsistent entry, is bad input, said in one short line naming the
file (and the entry); errors that are not about the files keep their own type."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import underdog.pipeline.factories
import underdog.pipeline.model
from _paths import SRC
from _tables import TINY, make_frame
from underdog.cli import main
from underdog.data import Preprocessor, table_from_frame
from underdog.exceptions import DataError
from underdog.pipeline._model_schema import MAX_HIDDEN
from underdog.pipeline.model import TrainedModel, train_model
from underdog.pipeline.recipes import RECIPES
from underdog.posthoc import PostHoc


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    table = table_from_frame(make_frame(), target="label", name="multi")
    directory = tmp_path_factory.mktemp("models") / "model"
    train_model(table, RECIPES["none"], config=TINY).save(directory)
    return directory


def _copy_with_weights(model_dir, tmp_path, content: bytes, *, sign: bool = True):
    """A copy of ``model_dir`` with ``content`` as model.pt; ``sign``: model.json records its
    checksum, so that the checks of the weights themselves are reached."""
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    (copy / "model.pt").write_bytes(content)
    if sign:
        meta = json.loads((copy / "model.json").read_text())
        meta["weights"]["sha256"] = hashlib.sha256(content).hexdigest()
        (copy / "model.json").write_text(json.dumps(meta))
    return copy


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_saved_model_loads_and_predicts(model_dir):
    model = TrainedModel.load(model_dir)
    labels, proba = model.predict(make_frame(10, seed=1))
    assert len(labels) == 10 and set(labels) <= {"a", "b", "c"}
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not a state dict", id="text"),
        pytest.param("first half", id="truncated"),
        pytest.param("flipped bytes", id="corrupt"),
    ],
)
def test_a_corrupt_weights_file_is_one_short_line(model_dir, tmp_path, content):
    good = (model_dir / "model.pt").read_bytes()
    if content == "first half":
        content = good[: len(good) // 2]
    elif content == "flipped bytes":
        content = good[:64] + bytes(b ^ 0xFF for b in good[64:128]) + good[128:]
    copy = _copy_with_weights(model_dir, tmp_path, content)
    with pytest.raises(DataError) as info:
        TrainedModel.load(copy)
    message = str(info.value)
    assert f"{copy / 'model.pt'} is not a valid underdog model file" in message
    assert "\n" not in message and len(message) < 250, message
    assert info.value.__cause__ is not None  # torch's own error stays chained


def test_running_out_of_memory_while_loading_is_not_a_corrupt_file(model_dir, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(underdog.pipeline.model.torch, "load", exhausted)
    with pytest.raises(MemoryError):
        TrainedModel.load(model_dir)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (torch.zeros(3), "model.pt is not a valid underdog model file: it holds a Tensor, not"),
        ({"foo": torch.zeros(3)}, "does not fit the architecture in model.json: missing 0.weight"),
        ("wrong shape", "'0.weight' has shape (8, 3) where the architecture in model.json"),
        ("not a tensor", "'0.bias' is a list, not a tensor"),
        ("sparse", "'0.weight' is a sparse_coo tensor, not a dense one"),
        ("on meta", "'0.weight' is a tensor on meta, not on the CPU"),
        ("complex", "'0.weight' has dtype torch.complex64 where the model needs torch.float32"),
        ("nan", "'0.weight' holds values that are not finite"),
        ("expanded", "'0.weight' has shape (8, 5) but holds only 1 value"),
    ],
)
def test_weights_that_do_not_fit_the_description(model_dir, tmp_path, state, message):
    """Loading the weights that pass these checks cannot fail, nor allocate more than the
    file holds: a tensor expanded from one value is not taken for a whole matrix."""
    good = torch.load(model_dir / "model.pt", weights_only=True)
    weight = good["0.weight"]
    changed = {
        "wrong shape": torch.zeros(8, 3),
        "not a tensor": "bias",
        "sparse": weight.to_sparse(),
        "on meta": weight.to("meta"),
        "complex": weight.to(torch.complex64),
        "nan": torch.full_like(weight, float("nan")),
        "expanded": torch.zeros(1).expand(weight.shape),
    }
    if state == "not a tensor":
        state = {**good, "0.bias": [0.0] * len(good["0.bias"])}
    elif isinstance(state, str):
        state = {**good, "0.weight": changed[state]}
    copy = _copy_with_weights(model_dir, tmp_path, _saved(state))
    with pytest.raises(DataError) as info:
        TrainedModel.load(copy)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_errors_that_are_not_about_the_file_keep_their_type(model_dir, monkeypatch):
    """A bug while loading the checked weights into the module is not reported as a bad
    model file."""

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug, not the user's file")

    monkeypatch.setattr(nn.Module, "load_state_dict", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        TrainedModel.load(model_dir)


# ----------------------------------------------------------------------------- model.json

DROP = object()  # remove the entry
THREE_PRIORS = [0.6, 0.3, 0.1]


def _with_description(model_dir, tmp_path, change) -> object:
    """A copy of ``model_dir`` whose model.json is ``change`` (text or bytes), or the
    original with the entries of ``change`` (``{"a.b": value or DROP}``) replaced."""
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    if isinstance(change, dict):
        meta = json.loads((model_dir / "model.json").read_text())
        for key, value in change.items():
            *sections, name = key.split(".")
            parent = meta
            for section in sections:
                parent = parent[section]
            if value is DROP:
                del parent[name]
            else:
                parent[name] = value
        change = json.dumps(meta)
    (copy / "model.json").write_bytes(change if isinstance(change, bytes) else change.encode())
    return copy


def _predict(model_dir, tmp_path):
    """``underdog predict`` with --out: (exit code, stdout, stderr, whether it wrote)."""
    data, preds = tmp_path / "new.csv", tmp_path / "preds.csv"
    make_frame(10, seed=1).to_csv(data, index=False)
    out, err = io.StringIO(), io.StringIO()
    code = main(["predict", str(model_dir), str(data), "--out", str(preds)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue(), preds.exists()


INVALID = "is not a valid underdog model description: "
BAD_DESCRIPTIONS = {
    # missing entries
    "no model": ({"model": DROP}, "it has no 'model' entry"),
    "no hidden": ({"model.arguments.hidden": DROP}, "it has no 'model.arguments.hidden' entry"),
    "no scales": ({"preprocessing.scales": DROP}, "it has no 'preprocessing.scales' entry"),
    "no post-hoc kind": ({"posthoc.kind": DROP}, "it has no 'posthoc.kind' entry"),
    # wrong types and ranges
    "classes a string": ({"classes": "abc"}, "'classes' must be a list, got 'abc'"),
    "hidden an int": (
        {"model.arguments.hidden": 8},
        "'model.arguments.hidden' must be a list, got 8",
    ),
    "hidden 0": (
        {"model.arguments.hidden": [0]},
        f"'model.arguments.hidden[0]' must be an int in [1, {MAX_HIDDEN}], got 0",
    ),
    "hidden a float": (
        {"model.arguments.hidden": [8.0]},
        f"'model.arguments.hidden[0]' must be an int in [1, {MAX_HIDDEN}], got 8.0",
    ),
    "num_features a bool": (
        {"model.arguments.num_features": True},
        "'model.arguments.num_features' must be an int in [1, 2147483647], got True",
    ),
    "dropout 1": (
        {"model.arguments.dropout": 1.0},
        "'model.arguments.dropout' must be a number in [0, 1), got 1.0",
    ),
    "dropout an int beyond float range": (
        {"model.arguments.dropout": 10**400},
        f"'model.arguments.dropout' must be a number in [0, 1), got {str(10**400)[:77]}...",
    ),
    "scale an int beyond float range": (
        {"preprocessing.scales": [1.0, 10**400]},
        f"'preprocessing.scales[1]' must be a finite number above 0, got {str(10**400)[:77]}...",
    ),
    "hidden of terabytes": (
        {"model.arguments.hidden": [8, 10**12]},
        f"'model.arguments.hidden[1]' must be an int in [1, {MAX_HIDDEN}], got {10**12}",
    ),
    "factory not a string": (
        {"model.factory": 3},
        "'model.factory' must be a string, got 3",
    ),
    "no checksum": ({"weights": DROP}, "it has no 'weights' entry"),
    "checksum not hex": (
        {"weights.sha256": "x" * 64},
        "'weights.sha256' must be 64 lowercase hexadecimal digits, got " + repr("x" * 64),
    ),
    "preprocessing a list": ({"preprocessing": []}, "'preprocessing' must be an object, got []"),
    "column name a number": (
        {"preprocessing.numeric": ["x1", 2]},
        "'preprocessing.numeric[1]' must be a string, got 2",
    ),
    "level null": (
        {"preprocessing.levels": [["blue", None, "red"]]},
        "'preprocessing.levels[0][1]' must be a string, got None",
    ),
    "scale 0": (
        {"preprocessing.scales": [1.0, 0.0]},
        "'preprocessing.scales[1]' must be a finite number above 0, got 0.0",
    ),
    "median NaN": (
        {"preprocessing.medians": [float("nan"), 0.0]},
        "'preprocessing.medians[0]' must be a finite number, got nan",
    ),
    "unknown post-hoc kind": (
        {"posthoc.kind": "magic"},
        "'posthoc.kind' must be one of 'none', 'threshold', 'prior-correction', got 'magic'",
    ),
    "tau null": ({"posthoc.tau": None}, "'posthoc.tau' must be a finite number, got None"),
    "training a list": ({"training": []}, "'training' must be an object, got []"),
    # entries that must agree
    "repeated class": (
        {"classes": ["a", "b", "b"]},
        "'classes' must list 2 or more distinct labels, got ['a', 'b', 'b']",
    ),
    "num_classes": (
        {"model.arguments.num_classes": 4},
        "'model.arguments.num_classes' must be 3 (the number of classes), got 4",
    ),
    "num_features": (
        {"model.arguments.num_features": 6},
        "'model.arguments.num_features' must be 5 (the number of preprocessed features), got 6",
    ),
    "medians short": (
        {"preprocessing.medians": [0.0]},
        "'preprocessing.medians' must have 2 entries (one per numeric column), got 1",
    ),
    "levels missing": (
        {"preprocessing.levels": []},
        "'preprocessing.levels' must have 1 entry (one list per categorical column), got 0",
    ),
    "priors short": (
        {"posthoc.kind": "prior-correction", "posthoc.priors": [0.5, 0.5]},
        "'posthoc.priors' must have 3 entries (one per class), got 2",
    ),
    "priors missing": (
        {"posthoc.kind": "prior-correction", "posthoc.priors": None},
        "'posthoc.priors' must be a list for the post-hoc kind 'prior-correction', got None",
    ),
    "threshold on 3 classes": (
        {"posthoc": {"kind": "threshold", "priors": THREE_PRIORS, "threshold": 0.4, "minority": 2}},
        "'posthoc.threshold' must be null with 3 classes (one threshold is for 2), got 0.4",
    ),
    "minority out of range": (
        {"posthoc.minority": 3},
        "'posthoc.minority' must be a class index below 3, got 3",
    ),
}


@pytest.mark.parametrize(("change", "message"), BAD_DESCRIPTIONS.values(), ids=BAD_DESCRIPTIONS)
def test_a_bad_model_description_is_one_line_naming_the_file_and_entry(
    model_dir, tmp_path, change, message
):
    copy = _with_description(model_dir, tmp_path, change)
    code, out, err, wrote = _predict(copy, tmp_path)
    assert code == 2 and out == "" and not wrote
    assert err == f"underdog: error: The file {copy / 'model.json'} {INVALID}{message}.\n"
    with pytest.raises(DataError, match="is not a valid underdog model description"):
        TrainedModel.load(copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("[1, 2]", "is not an underdog model description"),
        ('{"format": "underdog-model",', "is not an underdog model description: Expecting"),
        (b"\xff\xfe{}", "is not an underdog model description: 'utf-8' codec can't decode"),
        ({"format": "another"}, "is not an underdog model description"),
        ({"version": 1}, "has model format version 1; this underdog reads version 2"),
        ({"version": "2"}, "has model format version '2'; this underdog reads version 2"),
        ('{"a": ' + "1" * 5000 + "}", "is not an underdog model description: Exceeds the limit"),
        ("[" * 100_000, "is not an underdog model description: maximum recursion depth"),
    ],
    ids=[
        "not an object",
        "not JSON",
        "not UTF-8",
        "format",
        "version",
        "version a string",
        "an int of 5000 digits",
        "nested too deep",
    ],  # fmt: skip
)
def test_a_file_that_is_no_model_description_is_one_line(model_dir, tmp_path, change, message):
    copy = _with_description(model_dir, tmp_path, change)
    code, out, err, wrote = _predict(copy, tmp_path)
    assert code == 2 and out == "" and not wrote
    assert err.startswith(f"underdog: error: The file {copy / 'model.json'} {message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(resource is None, reason="needs resource.setrlimit (Unix)")
def test_sizes_the_weights_do_not_have_are_not_allocated(model_dir, tmp_path):
    """The weights are checked against the architecture before any memory is allocated for
    it: the widest hidden layer model.json may describe (tens of GB of weights) is a
    mismatch with the file, reported as such under a 4 GiB address-space limit."""
    copy = _with_description(model_dir, tmp_path, {"model.arguments.hidden": [MAX_HIDDEN]})
    data = tmp_path / "new.csv"
    make_frame(10, seed=1).to_csv(data, index=False)
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from underdog.cli import main
        sys.exit(main(["predict", {str(copy)!r}, {str(data)!r}]))
    """)
    src = SRC
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": src}, timeout=120)  # fmt: skip
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr == (
        f"underdog: error: The file {copy / 'model.pt'} is not a valid underdog model file: "
        f"'0.weight' has shape (8, 5) where the architecture in model.json needs "
        f"({MAX_HIDDEN}, 5).\n"
    )


def test_a_threshold_needs_its_minority_class(tmp_path):
    frame = make_frame(classes=("no", "yes"), weights=(0.85, 0.15))
    table = table_from_frame(frame, target="label", name="binary")
    train_model(table, RECIPES["threshold"], config=TINY).save(tmp_path / "model")
    copy = _with_description(tmp_path / "model", tmp_path, {"posthoc.minority": None})
    with pytest.raises(DataError) as info:
        TrainedModel.load(copy)
    assert str(info.value).endswith(
        "'posthoc.minority' must be a class index with a threshold, got None."
    )


@pytest.mark.parametrize("recipe", ["none", "threshold", "prior-correction", "logit-adjusted"])
@pytest.mark.parametrize("classes", [("no", "yes"), ("a", "b", "c")], ids=["binary", "multi"])
def test_every_description_train_model_writes_loads(tmp_path, recipe, classes):
    """The checks accept what train_model writes, for every post-hoc kind."""
    weights = {2: (0.85, 0.15), 3: (0.6, 0.3, 0.1)}[len(classes)]
    frame = make_frame(classes=classes, weights=weights)
    trained = train_model(table_from_frame(frame, target="label", name="t"), RECIPES[recipe],
                          config=TINY)  # fmt: skip
    trained.save(tmp_path / "model")
    loaded = TrainedModel.load(tmp_path / "model")
    assert loaded.posthoc == trained.posthoc and loaded.classes == trained.classes
    np.testing.assert_allclose(loaded.predict(frame)[1], trained.predict(frame)[1], rtol=1e-6)


@pytest.mark.parametrize(
    ("target", "name", "error"),
    [
        (Preprocessor, "from_dict", KeyError),
        (PostHoc, "from_dict", TypeError),
        (underdog.pipeline.factories, "mlp", ValueError),
    ],
)
def test_a_bug_in_the_constructors_is_not_a_bad_description(
    model_dir, tmp_path, monkeypatch, target, name, error
):
    """The description is checked before the constructors run, and they run outside any
    catch-all: an error of theirs is a bug, raised with its traceback, not exit code 2."""

    def broken(*args, **kwargs):
        raise error("a bug, not the user's file")

    monkeypatch.setattr(target, name, broken)
    with pytest.raises(error, match="a bug"):
        _predict(model_dir, tmp_path)
