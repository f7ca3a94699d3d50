"""bench_train.py keeps working: a tiny table and stream (timings are not checked)."""

from __future__ import annotations

from _paths import load_benchmark


def test_bench_train_measures_both_trainings_the_baselines_and_a_stream(capsys):
    results = load_benchmark("bench_train").main(["--sizes", "2000", "--stream-rows", "3000"])
    table = results["tables"][2000]
    train = table["underdog_train"]
    assert train["seconds"] > 0 and train["peak_mb"] > 0
    assert train["recipe"] == "balanced-bag-forest"  # 2,000 rows: a small table
    for name in ("fit", "bag_forest", "balanced_random_forest", "hist_gradient_boosting"):
        assert 0.0 <= table[name]["g_mean"] <= 1.0
    assert results["stream"]["rows"] == 3000 and results["stream"]["steps"] == 1
    out = capsys.readouterr().out
    assert "| 2,000 |" in out and "underdog `balanced-bag-forest`" in out and "stream: 3,000" in out
