#!/usr/bin/env python3
"""Calibrate the built-in Darcy generator against NeuralOperator's darcy_train_16.pt.

Compiles tools/reference/darcy_sample_stats.cpp (a small driver of the library's own generator),
then
  1. texture: scans the GRF length scale tau (alpha = 2, the FNO paper's) for the interface
     density of the 16x16 masks (the fraction of adjacent pixel pairs whose mask differs);
  2. contrast: scans r = a_high / a_low with a_low = 1, f = 1. The solution is linear in f and
     u(a_high, a_low, f) = (f / a_low) u(r, 1, 1), so r alone sets the *shape* of the
     distribution of per-sample RMS norms of y (std / mean, quantiles / mean) and f / a_low only
     its scale: the scan fixes r, the scale f / a_low = their mean / ours follows;
  3. prints the comparison table (docs/generators.md) for the FNO-paper defaults and for the
     preset DarcyGeneratorOptions::neuralop_files() as compiled into the library (a fresh seed,
     so the table is not the fit's own sample).

    python3 tools/reference/calibrate_darcy.py [--data PATH] [--n 1000] [--bench]

Needs python3 with numpy and torch (to read the .pt), g++ (C++20), FFTW and Eigen headers.
--bench also prints the solver's convergence orders and per-sample timings (one thread).
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DATA = os.path.join(os.path.dirname(ROOT), "shared", "reference", "neuralop-data", "darcy_train_16.pt")
QS = [0.05, 0.25, 0.5, 0.75, 0.95]


def build(tmp):
    exe = os.path.join(tmp, "darcy_sample_stats")
    src = os.path.join(ROOT, "tools", "reference", "darcy_sample_stats.cpp")
    subprocess.run(["g++", "-std=c++20", "-O3", "-march=native", "-DNDEBUG", "-I" + os.path.join(ROOT, "include"),
                    "-isystem", "/usr/include/eigen3", src, "-o", exe, "-lfftw3", "-lfftw3f", "-lpthread"], check=True)
    return exe


def run(exe, tmp, args, n, res=16):
    prefix = os.path.join(tmp, "d")
    subprocess.run([exe] + [str(a) for a in args] + [prefix], check=True, env=dict(os.environ, NEURALOP_NUM_THREADS="2"))
    x = np.fromfile(prefix + ".x.f32", dtype=np.float32).reshape(n, res, res)
    y = np.fromfile(prefix + ".y.f32", dtype=np.float32).reshape(n, res, res)
    return x, y


def stats(x, y):
    rms = np.sqrt((y.astype(np.float64) ** 2).mean(axis=(1, 2)))
    return {
        "mask": float(x.mean()),
        "iface_h": float((x[:, :, 1:] != x[:, :, :-1]).mean()),
        "iface_v": float((x[:, 1:, :] != x[:, :-1, :]).mean()),
        "mask_std": float(x.mean(axis=(1, 2)).std()),
        "mean": float(rms.mean()),
        "std": float(rms.std()),
        "q": [float(v) for v in np.quantile(rms, QS)],
    }


def row(name, s, ref=None):
    cells = ["%.4f" % s[k] for k in ("mask", "iface_h", "iface_v", "mask_std")]
    cells += ["%.3f" % v for v in [s["mean"], s["std"]] + s["q"]]
    dev = "-"
    if ref is not None:
        ours, theirs = [s["mean"], s["std"]] + s["q"], [ref["mean"], ref["std"]] + ref["q"]
        dev = "%.1f%%" % (100 * max(abs(a / b - 1) for a, b in zip(ours, theirs)))
    return "| " + name + " | " + " | ".join(cells) + " | " + dev + " |"


def shape_misfit(s, ref):
    """Largest relative mismatch of std / mean and quantile / mean (scale-free)."""
    a = [s["std"] / s["mean"]] + [q / s["mean"] for q in s["q"]]
    b = [ref["std"] / ref["mean"]] + [q / ref["mean"] for q in ref["q"]]
    return max(abs(u / v - 1) for u, v in zip(a, b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=1000, help="samples per generated set (theirs: 1000)")
    ap.add_argument("--solve-res", type=int, default=256)
    ap.add_argument("--bench", action="store_true", help="also print convergence orders and timings")
    args = ap.parse_args()

    import torch
    d = torch.load(args.data, weights_only=True)
    ref = stats(d["x"].numpy().astype(np.float32), d["y"].numpy())
    n, N = args.n, args.solve_res

    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp)
        iface = lambda s: 0.5 * (s["iface_h"] + s["iface_v"])
        print("1. texture (alpha = 2, masks only; solve grid 64, %d samples): theirs %.4f" % (2 * n, iface(ref)))
        best = None
        for tau in [3.0, 3.5, 4.0, 4.25, 4.5, 4.75, 5.0, 5.5]:
            s = stats(*run(exe, tmp, ["custom", 2 * n, 1, 64, 16, 2.0, tau, 12, 3, 1], 2 * n))
            print("   tau %.2f: interface density %.4f, mask fraction %.4f, per-sample mask std %.4f" %
                  (tau, iface(s), s["mask"], s["mask_std"]))
            if best is None or abs(iface(s) - iface(ref)) < best[0]:
                best = (abs(iface(s) - iface(ref)), tau)
        tau = best[1]
        print("   -> tau = %.2f" % tau)

        print("2. contrast (alpha = 2, tau = %.2f, a_low = 1, f = 1; N = %d, %d samples): theirs std/mean %.3f" %
              (tau, N, n, ref["std"] / ref["mean"]))
        best = None
        for r in [8, 12, 14, 16, 18, 20, 24]:
            s = stats(*run(exe, tmp, ["custom", n, 2, N, 16, 2.0, tau, r, 1, 1], n))
            m = shape_misfit(s, ref)
            print("   r %4.1f: RMS mean %.5f, std/mean %.3f, shape misfit %.1f%%" % (r, s["mean"], s["std"] / s["mean"], 100 * m))
            if best is None or m < best[0]:
                best = (m, r, s)
        _, r, s = best
        print("   -> a_high / a_low = %g, forcing / a_low = %.2f" % (r, ref["mean"] / s["mean"]))

        print("3. comparison at 16 x 16 (%d samples, fresh seed, N = 256):" % n)
        print()
        print("| data | mask fraction | interface density, horizontal | vertical | per-sample mask fraction std |"
              " RMS mean | RMS std | q05 | q25 | q50 | q75 | q95 | largest deviation of the 7 RMS statistics |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        print(row("NeuralOperator `darcy_train_16.pt`", ref))
        for name, label in [("fno_paper", "ours, defaults (FNO paper)"), ("neuralop_files", "ours, `neuralop_files()`")]:
            print(row(label, stats(*run(exe, tmp, ["preset", name, n, 3, 16], n)), ref))
        if args.bench:
            print()
            subprocess.run([exe, "bench"], check=True, env=dict(os.environ, NEURALOP_NUM_THREADS="1"))


if __name__ == "__main__":
    main()
