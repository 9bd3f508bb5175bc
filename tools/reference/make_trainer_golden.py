#!/usr/bin/env python3
"""Golden runs of neuraloperator 2.0.0's Trainer for neuralop::training::Trainer.

A tiny 2-D FNO (n_modes (4, 4), hidden 8, 2 layers) is built once; its initial state_dict and a
small fixed dataset (train: 16 samples 8x8; test "16": 8 samples 8x8; test "32": 6 samples
16x16) are saved, then neuralop.training.Trainer trains copies of it (no shuffle):

  processor_cosine    DefaultDataProcessor with a channel-wise UnitGaussianNormalizer on y,
                      AdamW(1e-2, wd 1e-4), CosineAnnealingLR(T_max=5), H1 training loss,
                      eval {"h1", "l2"} on "16" and "32", eval_interval 1, 3 epochs
  plateau_plain       no processor, AdamW(5e-3), ReduceLROnPlateau(abs threshold, patience 0),
                      L2 training loss, eval {"l2"}, eval_interval 2, 3 epochs (the plateau
                      scheduler gets the undivided sum of batch losses: with the per-batch mean
                      its learning-rate sequence would differ, checked below)
  resume_neuralop     processor_cosine's setup trained 2 epochs with save_every=1 (the files of
                      that checkpoint are written to tests/training/golden/trainer_ckpt/), then
                      a new Trainer with n_epochs=3 and resume_from_dir: NeuralOperator restarts
                      AT the saved epoch 1, so epochs 1 and 2 run

Per epoch: train_err, avg_loss, lr after the scheduler step, eval metrics (when evaluated);
per run: final parameters and the returned metrics. Written to tests/training/golden/trainer.pt.

    python3 tools/reference/make_trainer_golden.py
    python3 tools/reference/make_trainer_golden.py --check DIR   # a checkpoint written by the C++ Trainer

--check loads every file of DIR with torch.load(weights_only=True), loads it into the same FNO
with neuralop.training.load_training_state (model, AdamW, CosineAnnealingLR) and prints what it
found. Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU, float32).
"""
import math
import os
import shutil
import sys
import tempfile

import functools

import torch
from torch.utils.data import DataLoader
from neuralop.models import FNO
from neuralop.losses import H1Loss, LpLoss
from neuralop.training import AdamW, Trainer
import neuralop.training.training_state as training_state
from neuralop.training.training_state import load_training_state
from neuralop.data.datasets.tensor_dataset import TensorDataset
from neuralop.data.transforms.data_processors import DefaultDataProcessor
from neuralop.data.transforms.normalizers import UnitGaussianNormalizer

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "training", "golden"))
OUT = os.path.join(GOLDEN, "trainer.pt")
CKPT = os.path.join(GOLDEN, "trainer_ckpt")

PLATEAU_THRESHOLD = 1.3  # between the sum's epoch-1 improvement (1.2) and epoch-2 one (1.4)
MODEL = dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=8, n_layers=2)


def make_model():
    return FNO(**MODEL)


def target(x):
    # a smooth, learnable map with an offset and scale (so that normalising y matters)
    return 2.0 + 0.5 * x + 0.25 * (torch.roll(x, 1, -1) + torch.roll(x, 1, -2)) + 0.1 * x * x


def make_data():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(16, 1, 8, 8, generator=g)
    x16 = torch.randn(8, 1, 8, 8, generator=g)
    x32 = torch.randn(6, 1, 16, 16, generator=g)
    return {"train_x": x, "train_y": target(x), "test16_x": x16, "test16_y": target(x16),
            "test32_x": x32, "test32_y": target(x32)}


def loaders(d):
    train = DataLoader(TensorDataset(d["train_x"], d["train_y"]), batch_size=4, shuffle=False)
    tests = {"16": DataLoader(TensorDataset(d["test16_x"], d["test16_y"]), batch_size=4, shuffle=False),
             "32": DataLoader(TensorDataset(d["test32_x"], d["test32_y"]), batch_size=4, shuffle=False)}
    return train, tests


class RecordingTrainer(Trainer):
    """NeuralOperator's Trainer, recording what each epoch produced."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.records = []

    def train_one_epoch(self, epoch, train_loader, training_loss):
        r = super().train_one_epoch(epoch, train_loader, training_loss)
        self.records.append({"epoch": epoch, "train_err": r[0], "avg_loss": r[1],
                             "lr": self.optimizer.param_groups[0]["lr"], "eval": {}})
        return r

    def evaluate_all(self, epoch, eval_losses, test_loaders, eval_modes, max_autoregressive_steps=None):
        m = super().evaluate_all(epoch, eval_losses, test_loaders, eval_modes, max_autoregressive_steps)
        self.records[-1]["eval"] = {k: float(v) for k, v in m.items()}
        return m


def processor(d):
    norm = UnitGaussianNormalizer(dim=[0, 2, 3])
    norm.fit(d["train_y"])
    return DefaultDataProcessor(out_normalizer=norm), norm


def run_processor_cosine(init, d, n_epochs=3, save_every=None, save_dir=None, resume_from_dir=None):
    model = make_model()
    model.load_state_dict(init)
    proc, _ = processor(d)
    opt = AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    trainer = RecordingTrainer(model=model, n_epochs=n_epochs, data_processor=proc, eval_interval=1)
    train, tests = loaders(d)
    h1, l2 = H1Loss(d=2), LpLoss(d=2, p=2)
    kw = {}
    if save_every is not None:
        kw.update(save_every=save_every, save_dir=save_dir)
    if resume_from_dir is not None:
        kw.update(resume_from_dir=resume_from_dir)
    ret = trainer.train(train, tests, opt, sched, training_loss=h1, eval_losses={"h1": h1, "l2": l2}, **kw)
    return trainer, model, ret


def plateau_options():
    return dict(mode="min", factor=0.5, patience=0, threshold=PLATEAU_THRESHOLD, threshold_mode="abs")


def run_plateau_plain(init, d):
    model = make_model()
    model.load_state_dict(init)
    opt = AdamW(model.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **plateau_options())
    trainer = RecordingTrainer(model=model, n_epochs=3, eval_interval=2)
    train, tests = loaders(d)
    l2 = LpLoss(d=2, p=2)
    ret = trainer.train(train, tests, opt, sched, training_loss=l2, eval_losses={"l2": l2})
    return trainer, model, ret


def pack(trainer, model, ret):
    return {
        "epochs": [{"epoch": r["epoch"], "train_err": r["train_err"], "avg_loss": r["avg_loss"], "lr": r["lr"],
                    "eval": r["eval"]} for r in trainer.records],
        "returned": {k: float(v) for k, v in ret.items() if isinstance(v, (float, torch.Tensor))},
        "final": {k: v.detach().clone() for k, v in model.state_dict().items() if torch.is_tensor(v)},
    }


def plateau_lrs_with_mean(records):
    """The learning rates the plateau run would have had if the scheduler got train_err / n_batches."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = AdamW([p], lr=5e-3)
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **plateau_options())
    out = []
    for r in records:
        s.step(r["train_err"])
        out.append(opt.param_groups[0]["lr"])
    return out


def main():
    torch.manual_seed(0)
    model = make_model()
    init = {k: v.detach().clone() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    d = make_data()
    _, norm = processor(d)
    out = {"model": {k: (list(v) if isinstance(v, tuple) else v) for k, v in MODEL.items()}, "init": init,
           "data": d, "normalizer": {"mean": norm.mean.clone(), "std": norm.std.clone(), "eps": norm.eps},
           "runs": {}}

    out["runs"]["processor_cosine"] = pack(*run_processor_cosine(init, d))
    out["runs"]["plateau_plain"] = pack(*run_plateau_plain(init, d))
    lrs = [r["lr"] for r in out["runs"]["plateau_plain"]["epochs"]]
    mean_lrs = plateau_lrs_with_mean(out["runs"]["plateau_plain"]["epochs"])
    print("plateau lrs (sum):", lrs, " with the per-batch mean:", mean_lrs)
    assert lrs != mean_lrs, "the plateau case does not tell the sum from the mean; change its threshold"

    # A NeuralOperator checkpoint after epoch 1, then a resumed run (restarts at epoch 1).
    # NeuralOperator 2.0.0 cannot resume its own checkpoints under torch >= 2.6: the model's
    # state_dict pickles Python globals in "_metadata" (torch._C._nn.gelu...), which
    # torch.load's new default weights_only=True refuses. Our own files, trusted: allow them.
    class TorchTrustingLoad:
        load = staticmethod(functools.partial(torch.load, weights_only=False))

        def __getattr__(self, name):
            return getattr(torch, name)

    training_state.torch = TorchTrustingLoad()
    tmp = tempfile.mkdtemp()
    try:
        run_processor_cosine(init, d, n_epochs=2, save_every=1, save_dir=tmp)
        os.makedirs(CKPT, exist_ok=True)
        for f in ["model_state_dict.pt", "optimizer.pt", "scheduler.pt", "manifest.pt"]:
            shutil.copyfile(os.path.join(tmp, f), os.path.join(CKPT, f))
        print("neuralop manifest:", torch.load(os.path.join(tmp, "manifest.pt")))
        out["runs"]["resume_neuralop"] = pack(*run_processor_cosine(init, d, n_epochs=3, resume_from_dir=tmp))
    finally:
        training_state.torch = torch
        shutil.rmtree(tmp)

    for name, r in out["runs"].items():
        for e in r["epochs"]:
            print(f"{name:18s} [{e['epoch']}] train_err={e['train_err']:.6f} avg_loss={e['avg_loss']:.6f} "
                  f"lr={e['lr']:.6g} " + " ".join(f"{k}={v:.6f}" for k, v in e["eval"].items()))
    torch.save(out, OUT)
    total = os.path.getsize(OUT) + sum(os.path.getsize(os.path.join(CKPT, f)) for f in os.listdir(CKPT))
    print("wrote", os.path.relpath(OUT), "and", os.path.relpath(CKPT), total, "bytes in all")


def check(ckpt_dir):
    """Loads a checkpoint folder written by the C++ Trainer with torch and NeuralOperator."""
    files = sorted(f for f in os.listdir(ckpt_dir) if f.endswith(".pt"))
    for f in files:
        v = torch.load(os.path.join(ckpt_dir, f), weights_only=True)
        desc = {k: (tuple(x.shape) if torch.is_tensor(x) else type(x).__name__) for k, x in v.items()} \
            if isinstance(v, dict) else type(v).__name__
        print(f"torch.load(weights_only=True) {f}: ok,", desc if f != "manifest.pt" else v)
    save_name = "best_model" if os.path.exists(os.path.join(ckpt_dir, "best_model_state_dict.pt")) else "model"
    model = make_model()
    opt = AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    _, opt, sched, _, epoch = load_training_state(ckpt_dir, save_name, model, opt, sched)
    print(f"load_training_state: ok, epoch {epoch}, lr {opt.param_groups[0]['lr']}, "
          f"scheduler last_epoch {sched.last_epoch}, {len(opt.state)} parameters with AdamW state")
    # one more training step through NeuralOperator's AdamW with the loaded state
    d = make_data()
    x, y = d["train_x"][:4], d["train_y"][:4]
    loss = H1Loss(d=2)(model(x), y)
    loss.backward()
    opt.step()
    assert all(math.isfinite(float(p.detach().abs().max())) for p in model.parameters())
    print("a step with the loaded optimizer: ok, loss", float(loss))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main()
