#!/usr/bin/env python3
"""Golden cases for neuralop::optim (AdamW and the LR schedulers), made with neuraloperator 2.0.0
and torch.optim.lr_scheduler.

AdamW: three parameters (real (4, 3), real (5,), complex64 (2, 3, 2)), seeded initial values and
seeded gradients for each of 5 steps (the same for every configuration); at step 3 the second
parameter has no gradient (grad None: NeuralOperator skips it, its step count stays behind).
For each configuration: the parameters after every step and the final optimizer state_dict.
Schedulers: the learning rate after construction and after each of 40 step() calls
(ReduceLROnPlateau fed a fixed metric sequence with plateaus), and the final state_dict.
Written to tests/training/golden/optim.pt.

    python3 tools/reference/make_optim_golden.py
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU, float32 / complex64).
"""
import os

import torch
from neuralop.training import AdamW

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "training", "golden", "optim.pt")
N_STEPS = 5
SHAPES = [((4, 3), torch.float32), ((5,), torch.float32), ((2, 3, 2), torch.complex64)]

ADAMW = {
    "default": dict(lr=1e-2),
    "weight_decay": dict(lr=1e-2, weight_decay=0.1),
    "no_correct_bias": dict(lr=1e-2, correct_bias=False),
    "no_correct_bias_wd": dict(lr=5e-2, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.05, correct_bias=False),
}


def adamw_cases():
    g = torch.Generator().manual_seed(1)
    init = [torch.randn(s, dtype=dt, generator=g) for s, dt in SHAPES]
    grads = [[torch.randn(s, dtype=dt, generator=g) for s, dt in SHAPES] for _ in range(N_STEPS)]
    grads[2][1] = None
    out = {"init": init, "grads": [[gr if gr is not None else torch.zeros(0) for gr in step] for step in grads],
           "has_grad": [[gr is not None for gr in step] for step in grads], "configs": {}}
    for name, opts in ADAMW.items():
        params = [torch.nn.Parameter(p.clone()) for p in init]
        opt = AdamW(params, **opts)
        after = []
        for s in range(N_STEPS):
            for p, gr in zip(params, grads[s]):
                p.grad = None if gr is None else gr.clone()
            opt.step()
            after.append([p.detach().clone() for p in params])
        out["configs"][name] = {"options": opts, "params": after, "state_dict": opt.state_dict()}
    return out


def lr_sequence(make, metrics=None, n=40):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = AdamW([p], lr=0.1)
    sched = make(opt)
    lrs = [sched.get_last_lr()[0]]
    for i in range(n):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        lrs.append(sched.get_last_lr()[0])
    sd = {k: v for k, v in sched.state_dict().items() if not isinstance(v, float) or v == v}
    return {"lrs": torch.tensor(lrs, dtype=torch.float64), "state_dict": sd}


def scheduler_cases():
    S = torch.optim.lr_scheduler
    # plateaus, improvements by less and more than the 1e-2 relative threshold, a rise
    metrics = [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.799, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.5, 0.5, 0.6, 0.6,
               0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4,
               0.4, 0.4, 0.4]
    rising = [0.1 * i if i % 5 else 0.1 * (i - 1) for i in range(40)]
    return {
        "step_lr": dict(lr_sequence(lambda o: S.StepLR(o, step_size=7, gamma=0.5)), step_size=7, gamma=0.5),
        "cosine": dict(lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=1e-3)), T_max=10, eta_min=1e-3),
        "cosine_zero_min": dict(lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=7)), T_max=7, eta_min=0.0),
        "plateau_min_rel": dict(lr_sequence(lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2,
                                                                          threshold=1e-2, cooldown=2, min_lr=0.01),
                                            metrics),
                                metrics=torch.tensor(metrics, dtype=torch.float64),
                                options=dict(mode="min", factor=0.5, patience=2, threshold=1e-2, threshold_mode="rel",
                                             cooldown=2, min_lr=0.01, eps=1e-8)),
        "plateau_max_abs": dict(lr_sequence(lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1,
                                                                          threshold=0.15, threshold_mode="abs"),
                                            rising),
                                metrics=torch.tensor(rising, dtype=torch.float64),
                                options=dict(mode="max", factor=0.3, patience=1, threshold=0.15, threshold_mode="abs",
                                             cooldown=0, min_lr=0.0, eps=1e-8)),
        "plateau_default_eps": dict(lr_sequence(lambda o: S.ReduceLROnPlateau(o, factor=0.1, patience=0, eps=1e-3),
                                                metrics),
                                    metrics=torch.tensor(metrics, dtype=torch.float64),
                                    options=dict(mode="min", factor=0.1, patience=0, threshold=1e-4,
                                                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-3)),
    }


def main():
    out = {"adamw": adamw_cases(), "schedulers": scheduler_cases()}
    for k, v in out["schedulers"].items():
        print(f"{k:20s}", " ".join(f"{x:.4g}" for x in v["lrs"].tolist()))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(out, OUT)
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
