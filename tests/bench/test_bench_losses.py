"""The benchmark script keeps working (tiny sizes; it is not a performance test)."""

import importlib.util
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_losses.py"


def test_benchmark_runs_with_tiny_sizes(capsys):
    spec = importlib.util.spec_from_file_location("bench_losses", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_losses"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_losses"]
    threads = torch.get_num_threads()
    try:
        assert module.main(["--n", "32", "--c", "8", "--repeats", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "F.cross_entropy(weight=)" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "loss |" not in line]
    assert len(rows) == 10
    for row in rows:
        assert "nan" not in row
