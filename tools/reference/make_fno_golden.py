#!/usr/bin/env python3
"""Golden cases for neuralop::FNO<D>, made with the PyPI neuraloperator package.

For each configuration: an FNO built with a fixed seed, a random float32 input x, y = model(x),
a random seed r for L = sum(y * r), and after L.backward() the gradients of x and of every
parameter. Written to tests/models/golden/fno.pt as {name: {'options', 'state_dict', 'x', 'y',
'r', 'grad_x', 'grad.<name>'...}}; the state_dict without NeuralOperator's '_metadata' entry
(it pickles Python functions; the C++ reader handles it, see tests/io, but the golden file stays
readable by torch.load(weights_only=True)).

    python3 tools/reference/make_fno_golden.py
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU, float32).
"""
import os
from collections import OrderedDict

import torch
from neuralop.models import FNO

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "models", "golden", "fno.pt")

CONFIGS = {
    "fno1d_default": (dict(n_modes=(8,), in_channels=2, out_channels=1, hidden_channels=8), (2, 2, 24)),
    "fno2d_default": (dict(n_modes=(6, 6), in_channels=1, out_channels=1, hidden_channels=8), (2, 1, 16, 16)),
    "fno3d_default": (dict(n_modes=(4, 4, 4), in_channels=1, out_channels=2, hidden_channels=4, n_layers=2), (1, 1, 8, 8, 8)),
    "fno2d_skips": (dict(n_modes=(6, 4), in_channels=2, out_channels=1, hidden_channels=6, n_layers=2,
                         fno_skip="soft-gating", channel_mlp_skip="linear"), (2, 2, 12, 10)),
    "fno2d_identity_no_mlp": (dict(n_modes=(6, 6), in_channels=1, out_channels=1, hidden_channels=6, n_layers=3,
                                   fno_skip="identity", use_channel_mlp=False), (2, 1, 12, 12)),
    "fno2d_no_embedding_odd": (dict(n_modes=(5, 5), in_channels=3, out_channels=2, hidden_channels=6, n_layers=2,
                                    positional_embedding=None, lifting_channel_ratio=3, projection_channel_ratio=1.5),
                               (1, 3, 11, 13)),
    "fno2d_max_n_modes": (dict(n_modes=(4, 4), max_n_modes=(8, 8), in_channels=1, out_channels=1, hidden_channels=4,
                               n_layers=2), (2, 1, 16, 16)),
}


def main():
    cases = OrderedDict()
    for i, (name, (kwargs, shape)) in enumerate(CONFIGS.items()):
        torch.manual_seed(2000 + i)
        model = FNO(**kwargs)
        x = torch.randn(*shape, requires_grad=True)
        y = model(x)
        r = torch.randn_like(y)
        (y * r).sum().backward()
        opts = {k: (list(v) if isinstance(v, tuple) else ("none" if v is None else v)) for k, v in kwargs.items()}
        sd = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items() if k != "_metadata")
        case = OrderedDict(options=opts, state_dict=sd, x=x.detach(), y=y.detach(), r=r, grad_x=x.grad,
                           n_parameters=sum(p.numel() for p in model.parameters()))
        for pname, p in model.named_parameters():
            case["grad." + pname] = p.grad
        cases[name] = case
        print(f"{name}: x {tuple(shape)} -> y {tuple(y.shape)}; {len(sd)} tensors, {case['n_parameters']} parameters")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(cases, OUT)
    torch.load(OUT, weights_only=True)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
