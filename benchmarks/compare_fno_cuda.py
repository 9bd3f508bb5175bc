#!/usr/bin/env python3
"""Runs benchmarks/fno_cuda (C++, cuda backend) and the same configurations with PyTorch
NeuralOperator on the same GPU in the same run, and prints time and memory ratios.

Configurations (FNO with NeuralOperator's defaults: 4 layers, 1 in / 1 out channel):
  a      FNO-2D batch 32, hidden 32, modes (16, 16), 16x16
  b      FNO-2D batch 16, hidden 64, modes (16, 16), 64x64
  c      FNO-2D batch 8,  hidden 64, modes (32, 32), 128x128
  d      FNO-1D batch 32, hidden 64, modes 16, length 1024
  e      FNO-3D batch 4,  hidden 32, modes (8, 8, 8), 32^3
  large  FNO-2D batch 16, hidden 128, modes (32, 32), 256x256
  sc_b   SpectralConv alone on (b): 64 -> 64 channels, modes (16, 16), batch 16, 64x64
Time: median wall time, each call followed by a device synchronisation; forward under no_grad,
forward + backward of sum(y), and a training step (forward + backward + NeuralOperator's AdamW,
lr 1e-3, weight decay 1e-4). Memory: peak of live tensors during forward + backward
(our allocator's high-water mark; torch.cuda.max_memory_allocated), above what was live before.

Usage: compare_fno_cuda.py BUILD/benchmarks/bench_fno_cuda [config ...]
"""
import json
import re
import subprocess
import sys

from bench_common import median_seconds

CONFIGS = {
    "a": (dict(n_modes=(16, 16), hidden_channels=32), (32, 1, 16, 16), 20),
    "b": (dict(n_modes=(16, 16), hidden_channels=64), (16, 1, 64, 64), 20),
    "c": (dict(n_modes=(32, 32), hidden_channels=64), (8, 1, 128, 128), 20),
    "d": (dict(n_modes=(16,), hidden_channels=64), (32, 1, 1024), 20),
    "e": (dict(n_modes=(8, 8, 8), hidden_channels=32), (4, 1, 32, 32, 32), 20),
    "large": (dict(n_modes=(32, 32), hidden_channels=128), (16, 1, 256, 256), 10),
    "sc_b": (None, (16, 64, 64, 64), 20),
}


def torch_one(name):
    """Runs in a fresh interpreter: prints a JSON line with the timings of one configuration."""
    import torch
    from neuralop.layers.spectral_convolution import SpectralConv
    from neuralop.models import FNO

    dev = torch.device("cuda")
    torch.manual_seed(0)
    kwargs, shape, reps = CONFIGS[name]
    model = SpectralConv(64, 64, (16, 16)) if kwargs is None else FNO(in_channels=1, out_channels=1, **kwargs)
    model = model.to(dev)
    x = torch.randn(*shape, device=dev)

    def fwd():
        with torch.no_grad():
            model(x)
        torch.cuda.synchronize()

    def fwdbwd():
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()
        torch.cuda.synchronize()

    from neuralop.training import AdamW
    opt = AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)

    def train():
        opt.zero_grad(set_to_none=True)
        model(x).sum().backward()
        opt.step()
        torch.cuda.synchronize()

    t_f = median_seconds(fwd, reps, 2)
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    t_fb = median_seconds(fwdbwd, reps, 2)
    peak = (torch.cuda.max_memory_allocated() - base) / 1e6
    t_tr = median_seconds(train, reps, 2)
    print(json.dumps(dict(fwd_ms=1e3 * t_f, fwdbwd_ms=1e3 * t_fb, train_ms=1e3 * t_tr, peak_mb=peak, version=torch.__version__,
                          gpu=torch.cuda.get_device_name())))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--torch-one":
        return torch_one(sys.argv[2])
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    names = sys.argv[2:] or list(CONFIGS)
    out = "".join(subprocess.run([sys.argv[1], n], check=True, capture_output=True, text=True).stdout for n in names)
    print(out)
    ours = {m.group(1): dict(fwd=float(m.group(2)), fwdbwd=float(m.group(3)), peak=float(m.group(4)), train=float(m.group(5)))
            for m in re.finditer(r"result name=(\w+) fwd_ms=([\d.]+) fwdbwd_ms=([\d.]+) peak_mb=([-\d.]+) train_ms=([\d.]+)", out)}
    rows = []
    for n in names:
        if n not in CONFIGS:
            continue
        r = subprocess.run([sys.executable, __file__, "--torch-one", n], check=True, capture_output=True, text=True)
        rows.append((n, json.loads(r.stdout.strip().splitlines()[-1])))
    if not rows:
        return
    print(f"PyTorch {rows[0][1]['version']} + neuraloperator on {rows[0][1]['gpu']}; ratios are neuralop / PyTorch (lower is better)")
    print(f"  {'':6}{'fwd ms':>10}{'torch':>10}{'ratio':>8}{'fwd+bwd ms':>13}{'torch':>10}{'ratio':>8}"
          f"{'step ms':>10}{'torch':>10}{'ratio':>8}{'peak MB':>10}{'torch':>10}")
    for n, t in rows:
        o = ours[n]
        print(f"  {n:6}{o['fwd']:10.3f}{t['fwd_ms']:10.3f}{o['fwd'] / t['fwd_ms']:8.2f}{o['fwdbwd']:13.3f}{t['fwdbwd_ms']:10.3f}"
              f"{o['fwdbwd'] / t['fwdbwd_ms']:8.2f}{o['train']:10.3f}{t['train_ms']:10.3f}{o['train'] / t['train_ms']:8.2f}"
              f"{o['peak']:10.1f}{t['peak_mb']:10.1f}")


if __name__ == "__main__":
    main()
