#!/usr/bin/env python3
"""Golden values for neuralop::data (normalizers, data processors, PTDataset loaders), made with
neuraloperator 2.0.0 on NeuralOperator's sample files.

Written to tests/data/golden/data.pt as a dict:
  'darcy'      : DarcyDataset(download=False) on the sample folder, n_train 1000, test resolutions
                 [16, 32] with n_tests [100, 50] (the 16 file holds 50): channel-wise and
                 pixel-wise normalizer stats of x and y, the first train batch (batch size 4) and
                 the first test batches (batch size 2) as load_darcy_flow_small's loaders yield
                 them, the test counts, DefaultDataProcessor preprocess in train and eval mode and
                 postprocess in both modes of a fixed output, the processor's state_dict keys;
  'darcy_sub'  : DarcyDataset(subsampling_rate=2): shapes and the first sample (only axis 2 of x
                 and y is subsampled: PTDataset counts data axes as stored rank - 2);
  'from_dataset': UnitGaussianNormalizer.from_dataset on 20 Darcy training samples;
  'partial_fit': fit / partial_fit on a small random tensor for several `dim`s and batch sizes
                 (mean, std, squared_mean, n_elements), transform / inverse_transform of another;
  'dict'       : DictUnitGaussianNormalizer transform / inverse_transform (uncovered channels 0);
  'poisson'    : NonlinearPoissonDataset samples from a tiny synthetic pickle (also written, as
                 tests/data/golden/poisson_tiny_p{2,4,5}.obj, for the pickle reader), unshuffled;
  'burgers'    : Burgers1dTimeDataset (n_train 10, n_tests [10]) normalizer stats, the first
                 train batch WITHOUT shuffle and the first test batch (batch size 4), the
                 Burgers1dTimeDataProcessor outputs in train and eval mode.

    python3 tools/reference/make_data_golden.py [data_dir]
data_dir defaults to ../shared/reference/neuralop-data beside the checkout.
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU).
"""
import os
import sys

import torch
from torch.utils.data import DataLoader
from neuralop.data.datasets import DarcyDataset, Burgers1dTimeDataset
from neuralop.data.transforms.normalizers import UnitGaussianNormalizer, DictUnitGaussianNormalizer
from neuralop.data.transforms.data_processors import DefaultDataProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "golden", "data.pt")
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "reference", "neuralop-data")


def stats(n):
    return {"mean": n.mean.clone(), "std": n.std.clone()}


def first(loader):
    return next(iter(loader))


def processor_outputs(proc, batch, out):
    """preprocess / postprocess in train and eval mode on copies of one batch."""
    r = {}
    for mode in ("train", "eval"):
        proc.train() if mode == "train" else proc.eval()
        b = proc.preprocess({"x": batch["x"].clone(), "y": batch["y"].clone()})
        o, _ = proc.postprocess(out.clone(), b)
        r[mode] = {"x": b["x"], "y": b["y"], "out": o}
    proc.train()
    return r


def darcy():
    res = {}
    for enc in ("channel-wise", "pixel-wise"):
        ds = DarcyDataset(DATA, n_train=1000, n_tests=[100, 50], batch_size=4, test_batch_sizes=[4, 4],
                          train_resolution=16, test_resolutions=[16, 32], encode_input=True, encode_output=True,
                          encoding=enc, download=False)
        p = ds.data_processor
        res[enc.replace("-", "_")] = {"x": stats(p.in_normalizer), "y": stats(p.out_normalizer)}
    # The loaders of load_darcy_flow_small (defaults: encode_output only, channel-wise).
    ds = DarcyDataset(DATA, n_train=1000, n_tests=[100, 50], batch_size=4, test_batch_sizes=[4, 4],
                      train_resolution=16, test_resolutions=[16, 32], download=False)
    train = DataLoader(ds.train_db, batch_size=4)
    tests = {r: DataLoader(ds.test_dbs[r], batch_size=2, shuffle=False) for r in (16, 32)}
    b0 = first(train)
    res["train_batch0"] = {"x": b0["x"], "y": b0["y"]}
    res["n_train_batches"] = len(train)
    for r in (16, 32):
        t0 = first(tests[r])
        res[f"test{r}_batch0"] = {"x": t0["x"], "y": t0["y"]}
        res[f"n_test{r}"] = len(ds.test_dbs[r])
    g = torch.Generator().manual_seed(1)
    out = torch.randn(b0["y"].shape, generator=g)
    res["model_out"] = out
    res["processor"] = processor_outputs(ds.data_processor, b0, out)
    res["processor_keys"] = list(ds.data_processor.state_dict().keys())
    # The same with both encoders (x normalised too).
    ds2 = DarcyDataset(DATA, n_train=1000, n_tests=[100, 50], batch_size=4, test_batch_sizes=[4, 4],
                       train_resolution=16, test_resolutions=[16, 32], encode_input=True, download=False)
    res["processor_in_out"] = processor_outputs(ds2.data_processor, b0, out)
    res["processor_in_out_keys"] = list(ds2.data_processor.state_dict().keys())
    return res


def darcy_sub():
    ds = DarcyDataset(DATA, n_train=10, n_tests=[5], batch_size=4, test_batch_sizes=[4], train_resolution=16,
                      test_resolutions=[16], subsampling_rate=2, download=False)
    return {"x_shape": list(ds.train_db.x.shape), "y_shape": list(ds.train_db.y.shape),
            "test_x_shape": list(ds.test_dbs[16].x.shape),
            "x0": ds.train_db.x[0].clone(), "y0": ds.train_db.y[0].clone(),
            "y_mean": ds.data_processor.out_normalizer.mean.clone(), "y_std": ds.data_processor.out_normalizer.std.clone()}


def from_dataset():
    ds = DarcyDataset(DATA, n_train=20, n_tests=[5], batch_size=4, test_batch_sizes=[4], train_resolution=16,
                      test_resolutions=[16], download=False)
    n = UnitGaussianNormalizer.from_dataset(ds.train_db, dim=[0, 2, 3])
    return {k: dict(stats(v), n_elements=v.n_elements) for k, v in n.items()}


def partial_fit():
    g = torch.Generator().manual_seed(0)
    data = torch.randn(6, 2, 5, generator=g) * 3 + 1
    probe = torch.randn(3, 2, 5, generator=g)
    cases = {}
    for dname, dim in (("all", None), ("channel", [0, 2]), ("pixel", [0]), ("neg", [-1, 0])):
        n = UnitGaussianNormalizer(dim=dim)
        n.fit(data)
        cases[f"fit_{dname}"] = {"dim": dim, "batch_size": 0, "mean": n.mean, "std": n.std,
                                 "squared_mean": n.squared_mean, "n_elements": n.n_elements,
                                 "transform": n.transform(probe), "inverse_transform": n.inverse_transform(probe)}
        for bs in (1, 2, 4):
            n = UnitGaussianNormalizer(dim=dim)
            n.partial_fit(data, batch_size=bs)
            cases[f"partial_{dname}_bs{bs}"] = {"dim": dim, "batch_size": bs, "mean": n.mean, "std": n.std,
                                               "squared_mean": n.squared_mean, "n_elements": n.n_elements,
                                               "transform": n.transform(probe),
                                               "inverse_transform": n.inverse_transform(probe)}
    return {"data": data, "probe": probe, "cases": cases}


def dict_normalizer():
    g = torch.Generator().manual_seed(2)
    data = torch.randn(4, 5, 3, generator=g) * 2 + 0.5
    probe = torch.randn(2, 5, 3, generator=g)
    na = UnitGaussianNormalizer(dim=[0, 2])
    na.fit(data[:, 0:2])
    nb = UnitGaussianNormalizer(dim=None)
    nb.fit(data[:, 3:4])
    d = DictUnitGaussianNormalizer({"a": na, "b": nb},
                                   input_mappings={"a": (slice(None), slice(0, 2)), "b": (slice(None), slice(3, 4))},
                                   return_mappings={"a": (slice(None), slice(0, 2)), "b": (slice(None), slice(0, 1))})
    return {"data": data, "probe": probe, "a": stats(na), "b": stats(nb),
            "transform": d.transform(probe), "inverse_transform": d.inverse_transform(probe)}


def burgers():
    ds = Burgers1dTimeDataset(DATA, n_train=10, n_tests=[10], batch_size=2, test_batch_sizes=[2],
                              temporal_subsample=1, spatial_subsample=1)
    p = ds.data_processor
    train = DataLoader(ds.train_db, batch_size=2, shuffle=False)  # load_mini_burgers_1dtime shuffles
    test = DataLoader(ds.test_dbs[16], batch_size=2, shuffle=False)
    b0, t0 = first(train), first(test)
    g = torch.Generator().manual_seed(3)
    out = torch.randn(2, 1, b0["y"].shape[2], b0["y"].shape[3], generator=g, dtype=torch.float64)
    return {"in": stats(p.in_normalizer), "out": stats(p.out_normalizer),
            "train_batch0": {"x": b0["x"], "y": b0["y"]}, "test_batch0": {"x": t0["x"], "y": t0["y"]},
            "n_train": len(ds.train_db), "n_test": len(ds.test_dbs[16]),
            "model_out": out, "processor": processor_outputs(p, b0, out)}


def poisson():
    """A tiny synthetic nonlinear_poisson.obj (4 instances, the key layout of NeuralOperator's file),
    pickled with protocols 2, 4 and 5, and NonlinearPoissonDataset's samples built from it with the
    instance shuffle disabled (NeuralOperator shuffles with Python's unseeded global random)."""
    import pickle
    import numpy as np
    import neuralop.data.datasets.nonlinear_poisson as nlp
    rng = np.random.default_rng(4)
    inst = []
    for i in range(4):
        nb, nd = 6, 7
        inst.append({
            "train_points_domain": rng.uniform(-1, 1, (nd, 2)), "train_points_boundary": rng.uniform(-1, 1, (nb, 2)),
            "train_source_terms_domain": rng.normal(size=nd), "train_source_terms_boundary": rng.normal(size=nb),
            "train_bc_domain": rng.normal(size=nd), "train_bc_boundary": rng.normal(size=nb),
            "train_distances_domain": rng.uniform(0, 1, nd).astype(np.float32),
            "val_points_domain": np.asfortranarray(rng.uniform(-1, 1, (8, 2))),
            "val_source_terms_domain": rng.normal(size=8), "val_values_domain": rng.normal(size=8),
            "val_points_boundary": rng.uniform(-1, 1, (5, 2)), "val_source_terms_boundary": rng.normal(size=5),
            "val_values_boundary": rng.normal(size=5),
            "coefs": {"c1": np.float64(0.1 * i), "c2": np.float64(-0.05), "beta": np.array([1.0, 2.0, 0.5]),
                      "mu_1": [0.1, -0.2, 0.3], "mu_2": np.array([0.0, 0.4, -0.1], dtype=np.float32)},
        })
    gold = os.path.dirname(OUT)
    for proto in (2, 4, 5):
        with open(os.path.join(gold, f"poisson_tiny_p{proto}.obj"), "wb") as f:
            pickle.dump(inst, f, protocol=proto)
    shuffle = nlp.random.shuffle
    nlp.random.shuffle = lambda x: None
    try:
        ds = nlp.NonlinearPoissonDataset(os.path.join(gold, "poisson_tiny_p4.obj"), n_train=2, n_test=1, n_in=4, n_out=5,
                                         n_bound=3, n_eval=6, latent_query_res=4, domain_padding=1, download=False)
    finally:
        nlp.random.shuffle = shuffle
    keys = ["x", "input_geom", "latent_queries", "output_queries_domain", "output_source_terms_domain", "y_domain",
            "y_bound", "output_queries_bound", "output_source_terms_bound", "num_boundary", "out_sub_level"]
    pick = lambda d: {k: d[k] for k in keys if k in d}
    return {"train": [pick(d) for d in ds.train_db], "test": [pick(d) for d in ds.test_db]}


def contiguous(v):
    if isinstance(v, torch.Tensor):
        return v.detach().contiguous().clone()
    if isinstance(v, dict):
        return {k: contiguous(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [contiguous(x) for x in v]
    return v


def main():
    torch.manual_seed(0)
    out = contiguous({"darcy": darcy(), "darcy_sub": darcy_sub(), "from_dataset": from_dataset(),
                      "partial_fit": partial_fit(), "dict": dict_normalizer(), "burgers": burgers(),
                      "poisson": poisson()})
    d = out["darcy"]["channel_wise"]
    print("darcy channel-wise x mean %.10f std %.10f  y mean %.10f std %.10f" % (
        d["x"]["mean"].item(), d["x"]["std"].item(), d["y"]["mean"].item(), d["y"]["std"].item()))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(out, OUT)
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
