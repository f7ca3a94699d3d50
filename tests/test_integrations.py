"""The integrations' frameworks are optional: never imported by ``import underdog``, and a
missing one is a MissingDependencyError that names the extra to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import underdog

CHECK = textwrap.dedent(
    """
    import importlib, json, sys
    import underdog

    frameworks = ("lightning", "pytorch_lightning", "transformers", "accelerate")
    loaded = [name for name in frameworks if name in sys.modules]
    for name in frameworks:
        sys.modules[name] = None  # as if not installed: importing it raises ImportError
    errors = {}
    for module in ("lightning", "transformers"):
        try:
            importlib.import_module("underdog." + module)
        except underdog.MissingDependencyError as error:
            errors[module] = str(error)
    print(json.dumps({"loaded": loaded, "errors": errors}))
    """
)


def test_frameworks_load_only_with_their_integration():
    source = os.path.dirname(os.path.dirname(os.path.abspath(underdog.__file__)))
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    run = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["errors"] == {
        "lightning": "underdog.lightning needs Lightning, which is not installed: "
        "pip install 'underdog[lightning]'.",
        "transformers": "underdog.transformers needs Hugging Face transformers, which is not "
        "installed: pip install 'underdog[hf]'.",
    }
