#!/usr/bin/env python3
"""Golden cases for neuralop::losses::LpLoss<D> / H1Loss<D>, made with neuraloperator 2.0.0.

Each case: random x, y (both requiring grad), a loss built with NeuralOperator's keyword options,
one method (`call` = __call__, `rel`, `abs`) with its call arguments, the scalar value, and the
gradients of x and y after value.backward(). Most cases are float64 (tight checks, 1e-12); the
`_f32` cases are float32 (checked to 1e-5). Written to tests/training/golden/losses.pt as
{name: {'loss': 'lp'|'h1', 'method', 'd', 'options': {...}, 'call': {...}, 'x', 'y', 'value',
'grad_x', 'grad_y'}}.

    python3 tools/reference/make_losses_golden.py
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU).
"""
import os

import torch
from neuralop.losses import LpLoss, H1Loss

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "training", "golden", "losses.pt")

# name: (loss, d, options, method, call kwargs, shape, dtype)
F64, F32 = torch.float64, torch.float32
CASES = {
    "lp1d_p2_call": ("lp", 1, dict(), "call", {}, (3, 2, 16), F64),
    "lp1d_p2_call_f32": ("lp", 1, dict(), "call", {}, (3, 2, 16), F32),
    "lp1d_p1_mean": ("lp", 1, dict(p=1, reduction="mean"), "call", {}, (3, 2, 17), F64),
    "lp2d_p3_call": ("lp", 2, dict(p=3), "call", {}, (2, 2, 8, 6), F64),
    "lp2d_p4_rel_noroot": ("lp", 2, dict(p=4), "rel", dict(take_root=False), (2, 1, 6, 5), F64),
    "lp2d_p2_abs_measure_list": ("lp", 2, dict(measure=[2.0, 0.5]), "abs", {}, (2, 3, 8, 6), F64),
    "lp2d_p2_abs_f32": ("lp", 2, dict(), "abs", {}, (4, 1, 16, 16), F32),
    "lp2d_p1_abs_mean": ("lp", 2, dict(p=1, reduction="mean"), "abs", {}, (2, 2, 5, 7), F64),
    "lp2d_p3_abs_measure": ("lp", 2, dict(p=3, measure=3.0), "abs", {}, (2, 2, 5, 4), F64),
    "lp2d_p2_abs_quadrature": ("lp", 2, dict(), "abs", dict(quadrature=[0.25, 0.5]), (2, 1, 4, 6), F64),
    "lp2d_p2_abs_noroot": ("lp", 2, dict(), "abs", dict(take_root=False), (2, 1, 4, 6), F64),
    "lp3d_p2_call": ("lp", 3, dict(), "call", {}, (2, 1, 4, 5, 6), F64),
    "lp3d_p2_abs_mean": ("lp", 3, dict(reduction="mean", measure=[1.0, 2.0, 0.5]), "abs", {}, (2, 2, 4, 3, 5), F64),
    "lp2d_batch_only": ("lp", 2, dict(), "call", {}, (3, 6, 5), F64),  # (batch, x, y): no channel axis
    "h1_1d_periodic": ("h1", 1, dict(), "call", {}, (3, 2, 16), F64),
    "h1_1d_nonperiodic": ("h1", 1, dict(periodic_in_x=False), "call", {}, (3, 2, 12), F64),
    "h1_1d_abs_measure_mean": ("h1", 1, dict(measure=2.0, reduction="mean"), "abs", {}, (2, 2, 10), F64),
    "h1_2d_periodic": ("h1", 2, dict(), "call", {}, (2, 1, 8, 6), F64),
    "h1_2d_periodic_f32": ("h1", 2, dict(), "call", {}, (4, 1, 16, 16), F32),
    "h1_2d_nonperiodic_x_mean": ("h1", 2, dict(periodic_in_x=False, reduction="mean"), "call", {}, (2, 2, 7, 6), F64),
    "h1_2d_nonperiodic_abs": ("h1", 2, dict(periodic_in_x=False, periodic_in_y=False, measure=[2.0, 1.0]), "abs", {},
                              (2, 1, 6, 8), F64),
    "h1_2d_abs_f32": ("h1", 2, dict(), "abs", {}, (2, 1, 12, 10), F32),
    "h1_2d_rel_quadrature_noroot": ("h1", 2, dict(), "rel", dict(quadrature=[0.1, 0.2], take_root=False),
                                    (2, 1, 6, 5), F64),
    "h1_3d_periodic": ("h1", 3, dict(), "call", {}, (2, 1, 4, 5, 6), F64),
    "h1_3d_mixed_abs": ("h1", 3, dict(periodic_in_y=False, measure=[1.0, 2.0, 3.0]), "abs", {}, (1, 2, 5, 4, 6), F64),
    "h1_3d_nonperiodic_z": ("h1", 3, dict(periodic_in_z=False), "call", {}, (2, 1, 4, 4, 5), F64),
}


def main():
    torch.manual_seed(0)
    out = {}
    for name, (kind, d, opts, method, call, shape, dtype) in CASES.items():
        x = torch.randn(shape, dtype=dtype, requires_grad=True)
        y = torch.randn(shape, dtype=dtype, requires_grad=True)
        loss = LpLoss(d=d, **opts) if kind == "lp" else H1Loss(d=d, **opts)
        if method == "call":
            v = loss(x, y)
        elif method == "rel":
            v = loss.rel(x, y, **call)
        else:
            v = loss.abs(x, y, **call)
        v.backward()
        out[name] = {"loss": kind, "method": method, "d": d, "options": opts, "call": call,
                     "x": x.detach(), "y": y.detach(), "value": v.detach(),
                     "grad_x": x.grad, "grad_y": y.grad}
        print(f"{name:32s} {v.item(): .10g}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(out, OUT)
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
