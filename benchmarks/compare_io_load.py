#!/usr/bin/env python3
"""Runs benchmarks/io_load (C++) and torch.load on the same file in the same run; prints ratios.

torch.load(path, weights_only=True) returns the tensors with their data read into memory;
io::load_pt returns strided views into the mapped file (CRC-checked). The fair pair is
"torch.load" against "load_pt"; "+ contiguous float32" adds what torch would need
x.float().contiguous() for, and is timed on both sides too.

Usage: compare_io_load.py BUILD/benchmarks/bench_io_load [file.pt]
"""
import re
import subprocess
import sys

import torch

from bench_common import median_seconds


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1:3]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(out)
    path = re.search(r"^file (.*)$", out, re.M).group(1)
    m = re.search(r"result load_ms=([\d.]+) load_nocrc_ms=([\d.]+) load_tensors_ms=([\d.]+)", out)
    ours_load, ours_tensors = float(m.group(1)), float(m.group(3))
    torch.set_num_threads(1)
    t_load = 1e3 * median_seconds(lambda: torch.load(path, weights_only=True), 51, 5)

    def load_tensors():
        d = torch.load(path, weights_only=True)
        return d["x"].float().contiguous(), d["y"].contiguous()

    t_tensors = 1e3 * median_seconds(load_tensors, 51, 5)
    print(f"PyTorch {torch.__version__}")
    print(f"  {'':34}{'neuralop ms':>12}{'torch ms':>10}{'torch / neuralop':>18}")
    for what, ours, theirs in (("load", ours_load, t_load), ("load + contiguous float32", ours_tensors, t_tensors)):
        print(f"  {what:34}{ours:12.3f}{theirs:10.3f}{theirs / ours:17.2f}x")


if __name__ == "__main__":
    main()
