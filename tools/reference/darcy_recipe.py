#!/usr/bin/env python3
"""NeuralOperator's plot_FNO_darcy recipe on the shipped Darcy files: the reference numbers that
neuralop's C++ run of the same recipe (examples/fno_darcy, `neuralop train`) is compared with.

Recipe (neuralop 2.0.0 examples/models/plot_FNO_darcy.py): FNO n_modes (8, 8), in 1, out 1,
hidden 24, projection_channel_ratio 2; AdamW lr 1e-2, weight decay 1e-4; CosineAnnealingLR
T_max 30; 15 epochs; batch 64; H1 training loss; eval {"h1", "l2"} on test resolutions 16 and 32
(n_tests 100 -> the file holds 50, and 50); output normalised (channel-wise), input not.
Differences from the example, all neutral for the numbers: the data come from the shared folder
with download=False (the shipped folder lacks darcy_train_32.pt, which only the download needs),
loader workers 0 instead of 1 (so both sides compute on the same 2 threads), and the final metrics
are an evaluation after the 15th epoch (the example's eval_interval 5 evaluates last at epoch 10).

Usage: python3 tools/reference/darcy_recipe.py [--data DIR] [--seeds 0 1 2] [--threads 2]
       [--out tools/reference/results/darcy_neuralop.json]
Prints one line per seed and the mean; writes the JSON (per-seed metrics, per-epoch train times).
"""
import argparse
import json
import os
import platform
import time

import torch
import neuralop
from neuralop.models import FNO
from neuralop.training import AdamW, Trainer
from neuralop.losses import H1Loss, LpLoss
from neuralop.data.datasets.darcy import DarcyDataset
from torch.utils.data import DataLoader

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
ap = argparse.ArgumentParser()
ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "reference", "neuralop-data"))
ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", type=int, default=15)
ap.add_argument("--out", default=os.path.join(here, "results", "darcy_neuralop.json"))
args = ap.parse_args()
torch.set_num_threads(args.threads)


def run(seed):
    torch.manual_seed(seed)
    ds = DarcyDataset(root_dir=args.data, n_train=1000, n_tests=[100, 50], batch_size=64,
                      test_batch_sizes=[32, 32], train_resolution=16, test_resolutions=[16, 32],
                      encode_input=False, encode_output=True, download=False)
    train_loader = DataLoader(ds.train_db, batch_size=64, shuffle=False, num_workers=0)
    test_loaders = {r: DataLoader(ds.test_dbs[r], batch_size=32, shuffle=False, num_workers=0)
                    for r in (16, 32)}
    model = FNO(n_modes=(8, 8), in_channels=1, out_channels=1, hidden_channels=24,
                projection_channel_ratio=2)
    n_params = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    opt = AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
    h1, l2 = H1Loss(d=2), LpLoss(d=2, p=2)
    trainer = Trainer(model=model, n_epochs=args.epochs, device="cpu",
                      data_processor=ds.data_processor, eval_interval=10**9, verbose=False)
    times = []
    inner = trainer.train_one_epoch

    def timed(epoch, train_loader, training_loss):
        t0 = time.perf_counter()
        r = inner(epoch, train_loader, training_loss)
        times.append(time.perf_counter() - t0)
        return r
    trainer.train_one_epoch = timed
    trainer.train(train_loader=train_loader, test_loaders=test_loaders, optimizer=opt,
                  scheduler=sched, regularizer=False, training_loss=h1,
                  eval_losses={"h1": h1, "l2": l2})
    final = {}
    for r, loader in test_loaders.items():
        m = trainer.evaluate({"h1": h1, "l2": l2}, loader, log_prefix=str(r))
        final.update({k: float(v) for k, v in m.items()})
    return {"seed": seed, "n_params": n_params, "metrics": final, "epoch_times_s": times}


runs = [run(s) for s in args.seeds]
keys = ["16_l2", "32_l2", "16_h1", "32_h1"]
for r in runs:
    print(f"seed {r['seed']}: " + ", ".join(f"{k}={r['metrics'][k]:.4f}" for k in keys)
          + f", epoch {sum(r['epoch_times_s'][1:]) / max(1, len(r['epoch_times_s']) - 1):.3f} s")
mean = {k: sum(r["metrics"][k] for r in runs) / len(runs) for k in keys}
epoch_s = [t for r in runs for t in r["epoch_times_s"][1:]]  # epoch 0 includes warm-up
print("mean:    " + ", ".join(f"{k}={mean[k]:.4f}" for k in keys)
      + f", epoch {sum(epoch_s) / len(epoch_s):.3f} s (median {sorted(epoch_s)[len(epoch_s) // 2]:.3f})")
out = {"neuralop": neuralop.__version__, "torch": torch.__version__, "threads": args.threads,
       "machine": platform.processor() or platform.machine(), "epochs": args.epochs,
       "runs": runs, "mean": mean,
       "epoch_time_s_mean": sum(epoch_s) / len(epoch_s)}
os.makedirs(os.path.dirname(args.out), exist_ok=True)
tmp = args.out + ".tmp"
with open(tmp, "w") as f:
    json.dump(out, f, indent=1)
os.replace(tmp, args.out)
