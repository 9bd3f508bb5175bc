#!/usr/bin/env python3
"""Golden cases for neuralop::nn::SpectralConv, made with the PyPI neuraloperator package.

For each configuration: a SpectralConv built with a fixed seed, a random float32 input x, the
output y = conv(x) (with output_shape when given), a random seed r for the scalar loss
L = sum(y * r), and after L.backward() the gradients of x and of every parameter. Everything
goes into tests/nn/golden/spectral_conv.pt as {name: {'options': {...}, 'state_dict': ...,
'x', 'y', 'r', 'grad_x', 'grad.<param name>': ...}}, which the C++ test reads with io::load_pt.

    python3 tools/reference/make_spectral_conv_golden.py
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU, float32).
"""
import os
from collections import OrderedDict

import torch
from neuralop.layers.spectral_convolution import SpectralConv

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "nn", "golden", "spectral_conv.pt")

# name: (constructor kwargs, input shape, forward kwargs)
CONFIGS = {
    "1d": (dict(in_channels=3, out_channels=4, n_modes=(8,)), (2, 3, 32), {}),
    "1d_odd_modes": (dict(in_channels=2, out_channels=2, n_modes=(7,)), (2, 2, 15), {}),
    "2d": (dict(in_channels=3, out_channels=5, n_modes=(8, 6)), (2, 3, 16, 20), {}),
    "2d_odd": (dict(in_channels=2, out_channels=3, n_modes=(7, 7)), (2, 2, 15, 17), {}),
    "2d_max_n_modes": (dict(in_channels=3, out_channels=3, n_modes=(6, 6), max_n_modes=(10, 10)), (2, 3, 16, 16), {}),
    "2d_modes_exceed": (dict(in_channels=2, out_channels=2, n_modes=(12, 12)), (2, 2, 8, 8), {}),
    "2d_upsample": (dict(in_channels=2, out_channels=3, n_modes=(6, 6), resolution_scaling_factor=2.0), (2, 2, 12, 12), {}),
    "2d_downsample": (dict(in_channels=2, out_channels=2, n_modes=(4, 4), resolution_scaling_factor=0.5), (2, 2, 16, 16), {}),
    "2d_output_shape": (dict(in_channels=2, out_channels=2, n_modes=(6, 6)), (2, 2, 12, 12), dict(output_shape=(20, 18))),
    "2d_backward_norm_no_bias": (dict(in_channels=2, out_channels=3, n_modes=(6, 4), fft_norm="backward", bias=False), (2, 2, 12, 10), {}),
    "2d_odd_upsample": (dict(in_channels=2, out_channels=2, n_modes=(5, 5), resolution_scaling_factor=[1.5, 2.0]), (1, 2, 9, 11), {}),
    "3d": (dict(in_channels=2, out_channels=3, n_modes=(4, 4, 4)), (2, 2, 8, 8, 10), {}),
}


def main():
    cases = OrderedDict()
    for i, (name, (kwargs, shape, fwd)) in enumerate(CONFIGS.items()):
        torch.manual_seed(1000 + i)
        conv = SpectralConv(**kwargs)
        x = torch.randn(*shape, requires_grad=True)
        y = conv(x, **fwd)
        r = torch.randn_like(y)
        (y * r).sum().backward()
        opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
        if "output_shape" in fwd:
            opts["output_shape"] = list(fwd["output_shape"])
        case = OrderedDict(options=opts, state_dict=OrderedDict((k, v.detach().clone()) for k, v in conv.state_dict().items()),
                           x=x.detach(), y=y.detach(), r=r, grad_x=x.grad)
        for pname, p in conv.named_parameters():
            case["grad." + pname] = p.grad
        cases[name] = case
        print(f"{name}: x {tuple(shape)} -> y {tuple(y.shape)}; params {[k for k, _ in conv.named_parameters()]}")
    torch.save(cases, OUT)
    torch.load(OUT, weights_only=True)  # what the C++ reader must read: no Python objects
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
