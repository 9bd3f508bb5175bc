#!/usr/bin/env python3
"""Golden cases for neuralop::FNO<D>, made with the PyPI neuraloperator package.

For each configuration: an FNO built with a fixed seed, a random float32 input x, y = model(x),
a random seed r for L = Re(sum(y * conj(r))) (= sum(y * r) for real data), and after L.backward() the gradients of x and of every
parameter. Written to tests/models/golden/fno.pt as {name: {'options', 'state_dict', 'x', 'y',
'r', 'grad_x', 'grads_real',
'grads_complex'...}}; the state_dict without NeuralOperator's '_metadata' entry
(it pickles Python functions; the C++ reader handles it, see tests/io, but the golden file stays
readable by torch.load(weights_only=True)).

    python3 tools/reference/make_fno_golden.py
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU, float32).
"""
import os
from collections import OrderedDict

import torch
from neuralop.models import FNO, TFNO

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
    # --- FNOBlocks / FNO options (appended: the cases above keep their seeds) ---
    # round(0.25 * 10) = 2 (half to even), round(0.25 * 12) = 3
    "fno2d_domain_padding": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                  domain_padding=0.25), (2, 1, 10, 12)),
    "fno1d_domain_padding_list": (dict(n_modes=(6,), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                       domain_padding=[0.3]), (2, 1, 15)),
    "fno2d_group_norm": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                              norm="group_norm"), (1, 1, 8, 8)),
    "fno2d_instance_norm_tanh": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                      norm="instance_norm", stabilizer="tanh"), (1, 1, 8, 8)),
    "fno2d_batch_norm_train": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                    norm="batch_norm"), (2, 1, 8, 8)),
    "fno2d_batch_norm_eval": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                   norm="batch_norm"), (2, 1, 8, 8), dict(mode="eval")),
    "fno2d_preactivation_group_norm": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3,
                                            n_layers=2, norm="group_norm", preactivation=True), (2, 1, 8, 8)),
    "fno1d_preactivation": (dict(n_modes=(6,), in_channels=2, out_channels=1, hidden_channels=3, n_layers=3,
                                 preactivation=True, channel_mlp_skip="linear"), (2, 2, 16)),
    # 10 -> round(15.0) = 15 -> round(22.5) = 22: bicubic skips
    "fno2d_scaling_bicubic": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                   resolution_scaling_factor=1.5), (1, 1, 10, 10)),
    # per-layer factors, 1-D: linear skips
    "fno1d_scaling_linear": (dict(n_modes=(6,), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                  resolution_scaling_factor=[2, 0.5]), (2, 1, 12)),
    # per-layer per-axis factors, 3-D: spectral skips (layer 0 resamples at equal size)
    "fno3d_scaling_spectral": (dict(n_modes=(4, 4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                                    resolution_scaling_factor=[[1, 1, 1], [2, 1, 0.5]]), (1, 1, 6, 6, 8)),
    "fno2d_scaling_per_layer": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=3,
                                     resolution_scaling_factor=[[1, 2], [0.5, 1], [1, 1]]), (1, 1, 8, 6)),
    "fno2d_padding_scaling": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=1,
                                   domain_padding=0.25, resolution_scaling_factor=2), (1, 1, 8, 8)),
    # output_shape: a tuple for the last layer only, or one shape per layer
    "fno2d_output_shape_last": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2),
                                (1, 1, 10, 10), dict(output_shape=(14, 9))),
    "fno2d_output_shape_per_layer": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3,
                                          n_layers=2), (1, 1, 10, 10), dict(output_shape=[(12, 12), (10, 7)])),
    # factorized spectral weights: TFNO (Tucker, rank 0.1, "factorized"), and FNO with others
    "tfno2d_default": (dict(n_modes=(6, 6), in_channels=1, out_channels=1, hidden_channels=4, n_layers=2),
                       (1, 1, 8, 8), dict(model="tfno")),
    "fno2d_tucker_reconstructed": (dict(n_modes=(6, 6), in_channels=1, out_channels=1, hidden_channels=4, n_layers=2,
                                        factorization="tucker", rank=0.5, implementation="reconstructed"), (1, 1, 8, 8)),
    "fno2d_cp": (dict(n_modes=(6, 6), in_channels=1, out_channels=1, hidden_channels=4, n_layers=2,
                      factorization="cp", rank=0.3), (1, 1, 8, 8)),
    "fno1d_tt": (dict(n_modes=(8,), in_channels=1, out_channels=1, hidden_channels=4, n_layers=2,
                      factorization="tt", rank=0.4), (2, 1, 16)),
    # complex_data=True: complex x and y, ComplexValued lifting/projection/skips/MLPs/norms, CGELU;
    # L = Re(sum(y * conj(r))) (dL/dy = r in PyTorch's convention)
    "fno2d_complex": (dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=3, n_layers=2,
                           complex_data=True), (1, 1, 6, 6), dict(complex=True)),
    "fno1d_complex_group_norm": (dict(n_modes=(6,), in_channels=2, out_channels=1, hidden_channels=3, n_layers=2,
                                      complex_data=True, norm="group_norm", positional_embedding=None,
                                      domain_padding=0.25, stabilizer="tanh"), (1, 2, 10), dict(complex=True)),
}


def plain(v):
    """Options as torch.load(weights_only=True) reads them: tuples as lists, None as "none"."""
    if isinstance(v, tuple):
        return list(v)
    return "none" if v is None else v


def state_dict(model):
    return OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items() if k != "_metadata")


def pack(tree):
    """The same tensors as views into one storage per dtype: torch.save writes one zip entry per
    storage, so this keeps the file small (values are unchanged; the C++ reader honours views)."""
    found = []

    def walk(node):
        for k, v in node.items():
            if isinstance(v, torch.Tensor):
                found.append((node, k, v.detach().contiguous()))
            elif isinstance(v, dict):
                walk(v)
    walk(tree)
    for dtype in {t.dtype for _, _, t in found}:
        group = [(n, k, t) for n, k, t in found if t.dtype == dtype]
        flat = torch.cat([t.reshape(-1) for _, _, t in group])
        off = 0
        for node, k, t in group:
            node[k] = flat[off:off + t.numel()].view(t.shape)
            off += t.numel()
    return tree


def main():
    cases = OrderedDict()
    for i, (name, (kwargs, shape, *more)) in enumerate(CONFIGS.items()):
        extra = more[0] if more else {}
        torch.manual_seed(2000 + i)
        model = (TFNO if extra.get("model") == "tfno" else FNO)(**kwargs)
        if extra.get("mode") == "eval":
            # BatchNorm running statistics from one training-mode pass, then eval mode.
            with torch.no_grad():
                model(torch.randn(*shape))
            model.eval()
        sd = state_dict(model)  # before the forward (a training-mode BatchNorm updates its buffers)
        x = torch.randn(*shape, dtype=torch.cfloat if extra.get("complex") else torch.float32, requires_grad=True)
        fwd = {}
        if "output_shape" in extra:
            fwd["output_shape"] = extra["output_shape"]
        y = model(x, **fwd)
        r = torch.randn_like(y)
        (y * r.conj()).real.sum().backward()  # = (y * r).sum() for real y
        opts = {k: plain(v) for k, v in kwargs.items()}
        case = OrderedDict(options=opts, state_dict=sd, x=x.detach(), y=y.detach(), r=r, grad_x=x.grad,
                           n_parameters=sum(p.numel() for p in model.parameters()))
        if extra.get("mode"):
            case["mode"] = extra["mode"]
        if extra.get("complex"):
            case["complex"] = True
        if extra.get("model"):
            case["model"] = extra["model"]
        if "output_shape" in extra:
            os_ = extra["output_shape"]
            case["output_shape"] = list(os_) if isinstance(os_, tuple) else [list(s) for s in os_]
            case["output_shape_per_layer"] = not isinstance(os_, tuple)
        if any(k.endswith("running_mean") for k in sd):  # the buffers after the forward
            case["state_after"] = OrderedDict((k, v) for k, v in state_dict(model).items()
                                              if k.endswith(("running_mean", "running_var", "num_batches_tracked")))
        # Parameter gradients concatenated (flattened) in named_parameters() order, one tensor per
        # dtype: 'grads_real' (float32) and 'grads_complex' (complex64); one tensor each keeps the
        # pickle small.
        for key, cplx in (("grads_real", False), ("grads_complex", True)):
            g = [p.grad.reshape(-1) for _, p in model.named_parameters() if p.is_complex() == cplx]
            if g:
                case[key] = torch.cat(g)
        cases[name] = pack(case)
        print(f"{name}: x {tuple(shape)} -> y {tuple(y.shape)}; {len(sd)} tensors, {case['n_parameters']} parameters")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(cases, OUT)
    torch.load(OUT, weights_only=True)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
