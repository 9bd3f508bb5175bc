#!/usr/bin/env python3
"""Golden cases for neuralop::nn::SpectralConv with factorized (TFNO) weights, separable weights
and complex data, made with the PyPI neuraloperator package (and its tltorch / tensorly).

For each configuration: a SpectralConv built with a fixed seed, a random float32 (complex64 for
complex_data) input x, the output y = conv(x), a random seed r for the real scalar loss
L = Re(sum(y * conj(r))) (= sum(y * r) for real y; its gradient with respect to y is r in
PyTorch's convention, so the C++ side seeds backward with r), and after L.backward() the
gradients of x and of every parameter. Also tensorly's ranks for a list of shapes and rank
fractions ('ranks'), to cross-check the C++ rank rules.

Everything goes into tests/nn/golden/factorized.pt:
  {'cases': {name: {'options': {...}, 'param_names': [...], 'state_dict': ..., 'x', 'y', 'r',
                    'grad_x', 'grad.<param name>': ...}},
   'ranks': [{'factorization', 'shape', 'rank' | 'rank_int', 'fixed_rank_modes', 'result'}]}

    python3 tools/reference/make_factorized_golden.py
Made with torch 2.15.0, neuraloperator 2.0.0, tltorch 0.5.0, tensorly 0.10.0 (CPU, float32).
"""
import os
import warnings
from collections import OrderedDict

import torch
import tensorly as tl
from neuralop.layers.spectral_convolution import SpectralConv

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "nn", "golden", "factorized.pt")

# name: (constructor kwargs, input shape)
CONFIGS = {
    "tucker_reconstructed_2d": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="tucker", rank=0.5), (1, 3, 10, 8)),
    "tucker_factorized_2d": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="tucker", rank=0.5,
                                  implementation="factorized"), (1, 3, 10, 8)),
    "tucker_fixed_rank_modes": (dict(in_channels=4, out_channels=3, n_modes=(6, 6), factorization="Tucker", rank=0.3,
                                     fixed_rank_modes=True, implementation="factorized"), (1, 4, 12, 10)),
    "cp_reconstructed_2d": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="cp", rank=0.5), (1, 3, 10, 8)),
    "cp_factorized_2d": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="CP", rank=0.5,
                              implementation="factorized"), (1, 3, 10, 8)),
    "cp_factorized_1d": (dict(in_channels=2, out_channels=3, n_modes=(10,), factorization="cp", rank=1.0,
                              implementation="factorized"), (2, 2, 16)),
    "tt_reconstructed_2d": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="tt", rank=0.5), (1, 3, 10, 8)),
    "tt_factorized_2d": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="TT", rank=0.5,
                              implementation="factorized"), (1, 3, 10, 8)),
    "dense_factorized_2d": (dict(in_channels=2, out_channels=3, n_modes=(6, 6), factorization="dense",
                                 implementation="factorized"), (1, 2, 10, 8)),
    "dense_separable_2d": (dict(in_channels=3, out_channels=3, n_modes=(6, 6), separable=True), (1, 3, 10, 8)),
    "tucker_separable_factorized_2d": (dict(in_channels=3, out_channels=3, n_modes=(6, 6), separable=True,
                                            factorization="tucker", rank=0.5, implementation="factorized"), (1, 3, 10, 8)),
    "cp_separable_reconstructed_2d": (dict(in_channels=3, out_channels=3, n_modes=(6, 6), separable=True,
                                           factorization="cp", rank=0.5), (1, 3, 10, 8)),
    "tt_separable_factorized_2d": (dict(in_channels=3, out_channels=3, n_modes=(6, 6), separable=True,
                                        factorization="tt", rank=0.9, implementation="factorized"), (1, 3, 10, 8)),
    "tucker_factorized_3d": (dict(in_channels=2, out_channels=3, n_modes=(4, 4, 4), factorization="tucker", rank=0.4,
                                  implementation="factorized"), (1, 2, 6, 6, 6)),
    "tt_reconstructed_3d": (dict(in_channels=2, out_channels=2, n_modes=(4, 6, 4), factorization="tt", rank=0.3),
                            (1, 2, 6, 7, 6)),
    "tucker_max_n_modes": (dict(in_channels=3, out_channels=3, n_modes=(6, 6), max_n_modes=(10, 10), factorization="tucker",
                                rank=0.5, implementation="factorized"), (1, 3, 12, 10)),
    "cp_max_n_modes_reconstructed": (dict(in_channels=2, out_channels=3, n_modes=(5, 6), max_n_modes=(9, 8),
                                          factorization="cp", rank=0.5), (1, 2, 12, 10)),
    "tucker_int_rank": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="tucker", rank=3,
                             implementation="factorized"), (1, 3, 10, 8)),
    "cp_int_rank": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="cp", rank=5), (1, 3, 10, 8)),
    "tt_int_rank_factorized": (dict(in_channels=3, out_channels=4, n_modes=(6, 6), factorization="tt", rank=2,
                                    implementation="factorized"), (1, 3, 10, 8)),
    "complex_1d": (dict(in_channels=2, out_channels=3, n_modes=(6,), complex_data=True), (2, 2, 16)),
    "complex_2d": (dict(in_channels=2, out_channels=3, n_modes=(6, 5), complex_data=True), (1, 2, 12, 10)),
    "complex_2d_odd": (dict(in_channels=2, out_channels=2, n_modes=(5, 7), complex_data=True), (1, 2, 11, 9)),
    "complex_2d_tucker_factorized": (dict(in_channels=3, out_channels=2, n_modes=(6, 6), complex_data=True,
                                          factorization="tucker", rank=0.5, implementation="factorized"), (1, 3, 10, 8)),
    "complex_2d_max_n_modes_upsample": (dict(in_channels=2, out_channels=2, n_modes=(4, 4), max_n_modes=(6, 7),
                                             complex_data=True, resolution_scaling_factor=1.5), (1, 2, 8, 10)),
    "complex_3d_separable": (dict(in_channels=2, out_channels=2, n_modes=(4, 4, 4), complex_data=True, separable=True),
                             (1, 2, 6, 8, 6)),
}

# Rank cross-checks: (factorization, shape, rank, fixed_rank_modes)
RANKS = [
    ("tucker", (24, 24, 16, 9), 0.1, False), ("cp", (24, 24, 16, 9), 0.1, False), ("tt", (24, 24, 16, 9), 0.1, False),
    ("tucker", (64, 64, 16, 9), 0.1, False), ("tucker", (64, 64, 16, 9), 0.5, False), ("tucker", (64, 64, 16, 9), 1.0, False),
    ("tucker", (64, 64, 12, 7), 0.1, False), ("tucker", (32, 32, 16, 9), 0.05, True), ("tucker", (3, 4, 8, 4), 0.5, False),
    ("tucker", (3, 3, 8), 0.5, False), ("tucker", (16, 16, 8, 8, 5), 0.2, True), ("tucker", (5, 7), 0.7, False),
    ("cp", (64, 64, 16, 9), 0.5, False), ("cp", (3, 4, 8, 4), 0.5, False), ("cp", (3, 8), 0.5, False),
    ("tt", (64, 64, 16, 9), 0.5, False), ("tt", (3, 4, 8, 4), 0.5, False), ("tt", (3, 8), 0.5, False),
    ("tt", (8, 8, 4, 4, 3), 0.25, False), ("tt", (2, 2, 4, 6, 4), 0.3, False),
    ("tucker", (24, 24, 16, 9), 3, False), ("tucker", (24, 24, 16, 9), 3, True), ("cp", (24, 24, 16, 9), 7, False),
    ("tt", (24, 24, 16, 9), 4, False),
]


def tensorly_rank(fact, shape, rank, fixed):
    if fact == "tucker":
        return [int(r) for r in tl.tucker_tensor.validate_tucker_rank(shape, rank, fixed_modes=[0] if fixed else None)]
    if fact == "cp":
        return [int(tl.cp_tensor.validate_cp_rank(shape, rank))]
    return [int(r) for r in tl.tt_tensor.validate_tt_rank(shape, rank)]


def main():
    cases = OrderedDict()
    for i, (name, (kwargs, shape)) in enumerate(CONFIGS.items()):
        torch.manual_seed(2000 + i)
        conv = SpectralConv(**kwargs)
        dtype = torch.cfloat if kwargs.get("complex_data") else torch.float32
        x = torch.randn(*shape, dtype=dtype, requires_grad=True)
        y = conv(x)
        r = torch.randn_like(y)
        (y * r.conj()).real.sum().backward()
        opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
        if isinstance(opts.get("rank"), int):
            opts["rank_int"] = opts.pop("rank")
        if "resolution_scaling_factor" in opts:
            opts["resolution_scaling_factor"] = float(opts["resolution_scaling_factor"])
        names = [k for k, _ in conv.named_parameters()]
        assert names == list(conv.state_dict().keys()), (names, list(conv.state_dict().keys()))
        case = OrderedDict(options=opts, param_names=names,
                           state_dict=OrderedDict((k, v.detach().clone()) for k, v in conv.state_dict().items()),
                           x=x.detach(), y=y.detach(), r=r, grad_x=x.grad)
        for pname, p in conv.named_parameters():
            case["grad." + pname] = p.grad
        cases[name] = case
        print(f"{name}: x {tuple(shape)} -> y {tuple(y.shape)}; "
              f"params {[(k, tuple(v.shape)) for k, v in conv.state_dict().items()]}")
    ranks = []
    for fact, shape, rank, fixed in RANKS:
        res = tensorly_rank(fact, shape, rank, fixed)
        entry = OrderedDict(factorization=fact, shape=list(shape), fixed_rank_modes=fixed, result=res)
        entry["rank_int" if isinstance(rank, int) else "rank"] = rank
        ranks.append(entry)
        print(f"rank {fact} {shape} {rank} fixed={fixed}: {res}")
    torch.save(OrderedDict(cases=cases, ranks=ranks), OUT)
    torch.load(OUT, weights_only=True)  # what the C++ reader must read: no Python objects
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
