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

Usage: compare_fno.py BUILD/benchmarks/bench_fno [config ...]
"""
import json
import re
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


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--torch-one":
        return torch_one(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    names = sys.argv[2:] or list(CONFIGS)
    # One process per configuration on both sides, so that each max-RSS growth is its own.
    out = "".join(subprocess.run([sys.argv[1], n], check=True, capture_output=True, text=True).stdout for n in names)
    print(out)
    threads = int(re.search(r"(\d+) threads", out).group(1))
    ours = {m.group(1): dict(fwd=float(m.group(2)), fwdbwd=float(m.group(3)), peak=float(m.group(4)), rss=float(m.group(5)))
            for m in re.finditer(r"result name=(\w+) fwd_ms=([\d.]+) fwdbwd_ms=([\d.]+) peak_mb=([-\d.]+) rss_mb=([-\d.]+)", out)}
    rows = []
    for n in names:
        r = subprocess.run([sys.executable, __file__, "--torch-one", n, str(threads)], check=True, capture_output=True, text=True)
        rows.append((n, json.loads(r.stdout.strip().splitlines()[-1])))
    print(f"PyTorch {rows[0][1]['version']} + neuraloperator, {threads} threads; ratios are neuralop / PyTorch (lower is better)")
    print(f"  {'':6}{'fwd ms':>10}{'torch':>10}{'ratio':>8}{'fwd+bwd ms':>13}{'torch':>10}{'ratio':>8}{'RSS MB':>9}{'torch':>9}")
    for n, t in rows:
        o = ours[n]
        print(f"  {n:6}{o['fwd']:10.2f}{t['fwd_ms']:10.2f}{o['fwd'] / t['fwd_ms']:8.2f}{o['fwdbwd']:13.2f}{t['fwdbwd_ms']:10.2f}"
              f"{o['fwdbwd'] / t['fwdbwd_ms']:8.2f}{o['rss']:9.1f}{t['rss_mb']:9.1f}")


if __name__ == "__main__":
    main()
