#!/usr/bin/env python3
"""Runs benchmarks/fno (C++) and the same configurations with PyTorch NeuralOperator in the
same run, same thread count, and prints time and memory ratios.

Configurations (FNO with NeuralOperator's defaults: 4 layers, 1 in / 1 out channel):
  a  FNO-2D batch 32, hidden 32, modes (16, 16), 16x16
  b  FNO-2D batch 16, hidden 64, modes (16, 16), 64x64
  c  FNO-2D batch 8,  hidden 64, modes (32, 32), 128x128
  d  FNO-1D batch 32, hidden 64, modes 16, length 1024
  e  FNO-3D batch 4,  hidden 32, modes (8, 8, 8), 32^3
  sc_b  SpectralConv alone on (b): 64 -> 64 channels, modes (16, 16), batch 16, 64x64
Time: median wall time, forward under no_grad, and forward + backward of sum(y).
Memory: growth of the process's maximum resident set over the timed runs, each configuration
in a fresh process on both sides; for C++ also the allocator's peak of live tensors.

With --rounds N (N >= 2), each configuration runs N times on both sides, ours and PyTorch's
alternating (a slow spell of a shared machine then hits both), and a last table gives the
median of the N ratios with their range: on a 2-core VM single runs of either side were seen to
vary by 1.5x from one minute to the next (2026-12-02).

Usage: compare_fno.py [--rounds N] BUILD/benchmarks/bench_fno [config ...]
"""
import json
import re
import statistics
import resource
import subprocess
import sys

from bench_common import median_seconds

CONFIGS = {
    "a": (dict(n_modes=(16, 16), hidden_channels=32), (32, 1, 16, 16), 7),
    "b": (dict(n_modes=(16, 16), hidden_channels=64), (16, 1, 64, 64), 5),
    "c": (dict(n_modes=(32, 32), hidden_channels=64), (8, 1, 128, 128), 3),
    "d": (dict(n_modes=(16,), hidden_channels=64), (32, 1, 1024), 5),
    "e": (dict(n_modes=(8, 8, 8), hidden_channels=32), (4, 1, 32, 32, 32), 3),
    "sc_b": (None, (16, 64, 64, 64), 5),
}


def torch_one(name, threads):
    """Runs in a fresh interpreter: prints a JSON line with the timings of one configuration."""
    import torch
    from neuralop.layers.spectral_convolution import SpectralConv
    from neuralop.models import FNO

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    kwargs, shape, reps = CONFIGS[name]
    model = SpectralConv(64, 64, (16, 16)) if kwargs is None else FNO(in_channels=1, out_channels=1, **kwargs)
    x = torch.randn(*shape)

    def fwd():
        with torch.no_grad():
            model(x)

    def fwdbwd():
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_f = median_seconds(fwd, reps, 1)
    t_fb = median_seconds(fwdbwd, reps, 1)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
    print(json.dumps(dict(fwd_ms=1e3 * t_f, fwdbwd_ms=1e3 * t_fb, rss_mb=rss, version=torch.__version__)))


def run_ours(binary, n):
    out = subprocess.run([binary, n], check=True, capture_output=True, text=True).stdout
    m = re.search(r"result name=(\w+) fwd_ms=([\d.]+) fwdbwd_ms=([\d.]+) peak_mb=([-\d.]+) rss_mb=([-\d.]+)", out)
    threads = int(re.search(r"(\d+) threads", out).group(1))
    return out, threads, dict(fwd=float(m.group(2)), fwdbwd=float(m.group(3)), peak=float(m.group(4)), rss=float(m.group(5)))


def run_torch(n, threads):
    r = subprocess.run([sys.executable, __file__, "--torch-one", n, str(threads)], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def print_table(rows, threads):
    print(f"PyTorch {rows[0][2]['version']} + neuraloperator, {threads} threads; ratios are neuralop / PyTorch (lower is better)")
    print(f"  {'':6}{'fwd ms':>10}{'torch':>10}{'ratio':>8}{'fwd+bwd ms':>13}{'torch':>10}{'ratio':>8}{'RSS MB':>9}{'torch':>9}")
    for n, o, t in rows:
        print(f"  {n:6}{o['fwd']:10.2f}{t['fwd_ms']:10.2f}{o['fwd'] / t['fwd_ms']:8.2f}{o['fwdbwd']:13.2f}{t['fwdbwd_ms']:10.2f}"
              f"{o['fwdbwd'] / t['fwdbwd_ms']:8.2f}{o['rss']:9.1f}{t['rss_mb']:9.1f}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--torch-one":
        return torch_one(sys.argv[2], int(sys.argv[3]))
    args = sys.argv[1:]
    rounds = 1
    if args[:1] == ["--rounds"]:
        rounds = int(args[1])
        args = args[2:]
    if not args or rounds < 1:
        sys.exit(__doc__)
    binary, names = args[0], args[1:] or list(CONFIGS)
    # One process per configuration and run on both sides, so that each max-RSS growth is its own.
    all_rows = []
    for r in range(rounds):
        rows = []
        for n in names:
            out, threads, o = run_ours(binary, n)
            if r == 0:
                print(out, end="")
            rows.append((n, o, run_torch(n, threads)))
        if rounds > 1:
            print(f"-- round {r + 1} of {rounds}")
        print_table(rows, threads)
        all_rows.append(rows)
    if rounds > 1:
        print(f"\nMedian over {rounds} rounds (ours and PyTorch alternating), ratio [min - max]:")
        print(f"  {'':6}{'fwd ms':>10}{'torch':>10}{'ratio':>20}{'fwd+bwd ms':>13}{'torch':>10}{'ratio':>20}")
        for i, n in enumerate(names):
            o_f = [rows[i][1]["fwd"] for rows in all_rows]
            t_f = [rows[i][2]["fwd_ms"] for rows in all_rows]
            o_b = [rows[i][1]["fwdbwd"] for rows in all_rows]
            t_b = [rows[i][2]["fwdbwd_ms"] for rows in all_rows]
            r_f = [a / b for a, b in zip(o_f, t_f)]
            r_b = [a / b for a, b in zip(o_b, t_b)]
            med = statistics.median
            print(f"  {n:6}{med(o_f):10.2f}{med(t_f):10.2f}{med(r_f):8.2f} [{min(r_f):.2f} - {max(r_f):.2f}]"
                  f"{med(o_b):13.2f}{med(t_b):10.2f}{med(r_b):8.2f} [{min(r_b):.2f} - {max(r_b):.2f}]")


if __name__ == "__main__":
    main()
