"""The reference model on digits-lt (bench_longtail.py's protocol: fold 0 of seed s)."""
import os, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch
torch.set_num_threads(1)
from sklearn.metrics import balanced_accuracy_score, f1_score
from underdog.compare import CompareConfig, prepare_fold
from underdog.data import load_dataset
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import balanced_bagged_mlp as B

variants = {"ref": {}, **{f"class_size={v}": {"class_size": v} for v in sys.argv[1:]}}
for name, params in variants.items():
    for ratio in (10, 50, 100):
        ba, f1, secs = [], [], []
        t = load_dataset("digits-lt", imbalance_ratio=ratio)
        for seed in range(5):
            tr, te = t.folds(5, seed=seed)[0]
            f = prepare_fold(t, tr, te, seed=seed, fold=0, config=CompareConfig())
            s = time.perf_counter()
            m = B.fit(f.x, f.y, f.x_val, f.y_val, seed=f.model_seed, **params)
            p = m.predict(f.x_test); secs.append(time.perf_counter() - s)
            ba.append(100 * balanced_accuracy_score(f.y_test, p)); f1.append(100 * f1_score(f.y_test, p, average="macro"))
        print(f"{name:22s} IR {ratio:3d}: BA {np.mean(ba):.1f} ± {np.std(ba, ddof=1):.1f}  macro-F1 {np.mean(f1):.1f}  {np.mean(secs):.2f}s  counts={np.bincount(f.y_train).tolist()}", flush=True)
