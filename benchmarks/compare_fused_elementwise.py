#!/usr/bin/env python3
"""Runs benchmarks/fused_elementwise (C++) and the same expressions in PyTorch eager mode on
this machine, in the same run, and prints the ratios.

    y = act(x * w + b) * s + r,  x, r: [N, 64, 128, 128] float32; w, b, s: [64, 1, 1]
    forward, and forward + backward with a fixed seed dL/dy (gradients for x, r, w, b, s)

Usage: compare_fused_elementwise.py BUILD/benchmarks/bench_fused_elementwise [batch=16]
PyTorch uses as many threads as the C++ pool (torch.set_num_threads).
"""
import os
import re
import subprocess
import sys

import torch

from bench_common import median_seconds


def torch_times(act, n):
    g = torch.Generator().manual_seed(0)
    shape, chan = (n, 64, 128, 128), (64, 1, 1)
    x = torch.randn(shape, generator=g).requires_grad_()
    r = torch.randn(shape, generator=g).requires_grad_()
    w = (1 + 0.1 * torch.randn(chan, generator=g)).requires_grad_()
    b = (0.1 * torch.randn(chan, generator=g)).requires_grad_()
    s = (1 + 0.1 * torch.randn(chan, generator=g)).requires_grad_()
    seed = torch.randn(shape, generator=g)
    fn = {"relu": torch.relu, "gelu": torch.nn.functional.gelu}[act]

    def fwd():
        with torch.no_grad():
            return fn(x * w + b) * s + r

    def fwdbwd():
        for v in (x, r, w, b, s):
            v.grad = None
        (fn(x * w + b) * s + r).backward(seed)

    return median_seconds(fwd), median_seconds(fwdbwd)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    exe, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 16
    out = subprocess.run([exe, str(n)], check=True, capture_output=True, text=True).stdout
    print(out)
    threads = int(re.search(r"(\d+) threads", out).group(1))
    torch.set_num_threads(threads)
    print(f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads (forward under no_grad)")
    print(f"  {'':22}{'neuralop fused ms':>18}{'PyTorch ms':>12}{'PyTorch / neuralop':>20}")
    for m in re.finditer(r"result act=(\w+) fwd_fused_ms=([\d.]+) fwd_op_ms=[\d.]+ fwdbwd_fused_ms=([\d.]+)", out):
        act, ours_f, ours_fb = m.group(1), float(m.group(2)), float(m.group(3))
        tf, tfb = torch_times(act, n)
        for what, ours, theirs in (("forward", ours_f, 1e3 * tf), ("forward + backward", ours_fb, 1e3 * tfb)):
            print(f"  {act + ' ' + what:22}{ours:18.2f}{theirs:12.2f}{theirs / ours:19.2f}x")


if __name__ == "__main__":
    main()
