#!/usr/bin/env python3
"""NeuralOperator's plot_FNO_darcy recipe, ours against NeuralOperator's, in the same run.

For each seed: `neuralop train configs/darcy.toml` (our CLI) and tools/reference/darcy_recipe.py
(PyTorch NeuralOperator 2.0.0), alternately, with the same thread count. Prints the final test
metrics of each (16_l2, 32_l2, 16_h1, 32_h1), their means over the seeds, the ratio ours / theirs,
and the training time per epoch of each (epoch 0 left out: it includes warm-up).

  python3 benchmarks/compare_darcy.py [--cli build/release/apps/neuralop/neuralop]
        [--data ../shared/reference/neuralop-data] [--seeds 0 1 2] [--threads 2] [--epochs 15]
        [--reference-json tools/reference/results/darcy_neuralop.json]  (skip the PyTorch runs)
        [--out results.json]

The seeds are each library's own: the two draw different initial weights from them, so the
comparison is of the means, not seed by seed.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
ap = argparse.ArgumentParser()
ap.add_argument("--cli", default=None)
ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "reference", "neuralop-data"))
ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", type=int, default=15)
ap.add_argument("--reference-json", default=None)
ap.add_argument("--out", default=None)
args = ap.parse_args()

if args.cli is None:
    for b in ("build/release",):
        p = os.path.join(repo, b, "apps", "neuralop", "neuralop")
        if os.path.exists(p):
            args.cli = p
            break
    else:
        sys.exit("compare_darcy: no neuralop executable found; build it (ninja -C build/release apps/neuralop/neuralop) or pass --cli")

KEYS = ["16_l2", "32_l2", "16_h1", "32_h1"]


def ours(seed):
    with tempfile.TemporaryDirectory() as log:
        cmd = [args.cli, "train", os.path.join(repo, "configs", "darcy.toml"), f"--data.folder={args.data}",
               f"--seed={seed}", f"--threads={args.threads}", f"--opt.n_epochs={args.epochs}", f"--log.dir={log}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"compare_darcy: {' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
        metrics = {}
        for line in r.stdout.splitlines():  # the final table: "16   h1   l2"
            m = re.match(r"^(\d+)\s+([0-9.]+)\s+([0-9.]+)\s*$", line)
            if m:
                metrics[f"{m.group(1)}_h1"] = float(m.group(2))
                metrics[f"{m.group(1)}_l2"] = float(m.group(3))
        with open(os.path.join(log, "metrics.jsonl")) as f:
            times = [json.loads(l)["time"] for l in f if l.strip()]
    return {"seed": seed, "metrics": metrics, "epoch_times_s": times}


def theirs(seed):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        cmd = [sys.executable, os.path.join(repo, "tools", "reference", "darcy_recipe.py"), "--data", args.data,
               "--seeds", str(seed), "--threads", str(args.threads), "--epochs", str(args.epochs), "--out", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"compare_darcy: {' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
        with open(out) as f:
            return json.load(f)["runs"][0]


ref_runs = None
if args.reference_json:
    with open(args.reference_json) as f:
        ref_runs = json.load(f)["runs"]
our_runs, their_runs = [], []
for s in args.seeds:
    our_runs.append(ours(s))
    their_runs.append(theirs(s) if ref_runs is None else next(r for r in ref_runs if r["seed"] == s))


def epoch_time(runs):
    t = [x for r in runs for x in r["epoch_times_s"][1:]]
    return statistics.median(t) if t else float("nan")


def mean(runs, k):
    return statistics.fmean(r["metrics"][k] for r in runs)


print(f"plot_FNO_darcy recipe, {args.epochs} epochs, {args.threads} threads, seeds {args.seeds}"
      + ("" if ref_runs is None else f" (NeuralOperator from {args.reference_json})"))
print(f"{'':22}" + "".join(f"{k:>10}" for k in KEYS) + f"{'s/epoch':>10}")
for name, runs in (("neuralop C++", our_runs), ("NeuralOperator 2.0.0", their_runs)):
    for r in runs:
        print(f"{name + ' seed ' + str(r['seed']):22}" + "".join(f"{r['metrics'][k]:10.4f}" for k in KEYS)
              + f"{statistics.median(r['epoch_times_s'][1:]):10.3f}")
for name, runs in (("neuralop C++", our_runs), ("NeuralOperator 2.0.0", their_runs)):
    print(f"{name + ' mean':22}" + "".join(f"{mean(runs, k):10.4f}" for k in KEYS) + f"{epoch_time(runs):10.3f}")
ratios = {k: mean(our_runs, k) / mean(their_runs, k) for k in KEYS}
time_ratio = epoch_time(our_runs) / epoch_time(their_runs)
print(f"{'ours / theirs':22}" + "".join(f"{ratios[k]:10.3f}" for k in KEYS) + f"{time_ratio:10.3f}")
worst = max(ratios["16_l2"], ratios["32_l2"])
print(f"16_l2 and 32_l2 within 5% of NeuralOperator's (or better): {'yes' if worst <= 1.05 else 'NO'} (worst ratio {worst:.3f})")
if args.out:
    with open(args.out + ".tmp", "w") as f:
        json.dump({"threads": args.threads, "epochs": args.epochs, "ours": our_runs, "theirs": their_runs,
                   "ratios": ratios, "epoch_time_ratio": time_ratio}, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
