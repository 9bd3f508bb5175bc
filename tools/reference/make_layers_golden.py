#!/usr/bin/env python3
"""Golden cases for the FNO building blocks other than SpectralConv: normalization layers
(InstanceNorm, GroupNorm, BatchNorm in train and eval mode, AdaIN), resample (1-D linear,
2-D bicubic, >=3-D spectral), LinearChannelMLP, GridEmbedding2D and SinusoidalEmbedding, made
with the PyPI neuraloperator package.

Each case holds its inputs, parameters, the output y, a random seed r for L = sum(y * r) and the
gradients after L.backward(). Written to tests/nn/golden/layers.pt as {name: {...}} (readable by
torch.load(weights_only=True)).

    python3 tools/reference/make_layers_golden.py
Made with torch 2.15.0 and neuraloperator 2.0.0 (CPU, float32).
"""
import os
from collections import OrderedDict

import torch
from torch import nn
from neuralop.layers.channel_mlp import LinearChannelMLP
from neuralop.layers.fno_block import FNOBlocks
from neuralop.layers.embeddings import GridEmbedding2D, SinusoidalEmbedding
from neuralop.layers.normalization_layers import AdaIN, BatchNorm, InstanceNorm
from neuralop.layers.resample import resample

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "nn", "golden", "layers.pt")


def run(case, module, x, extra_inputs=()):
    """Forward, L = sum(y * r), backward; stores y, r, grad_x, grad.<param> and the grads of
    extra inputs (name, tensor)."""
    x.requires_grad_(True)
    y = module(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    case.update(x=x.detach(), y=y.detach(), r=r, grad_x=x.grad)
    if isinstance(module, nn.Module):
        for pname, p in module.named_parameters():
            case["grad." + pname] = p.grad
    for name, t in extra_inputs:
        case["grad_" + name] = t.grad
    return case


def state(module):
    return OrderedDict((k, v.detach().clone()) for k, v in module.state_dict().items())


def main():
    cases = OrderedDict()
    torch.manual_seed(7000)

    # GroupNorm(2 groups, 4 channels) with non-trivial affine parameters, 2-D input.
    gn = nn.GroupNorm(2, 4)
    with torch.no_grad():
        gn.weight.normal_()
        gn.bias.normal_()
    cases["group_norm_2d"] = run(OrderedDict(groups=2, channels=4, state_dict=state(gn)), gn, torch.randn(2, 4, 5, 6))

    cases["instance_norm_1d"] = run(OrderedDict(), InstanceNorm(), 3 * torch.randn(2, 3, 7) + 1)
    cases["instance_norm_3d"] = run(OrderedDict(), InstanceNorm(), torch.randn(2, 3, 4, 5, 3))

    # BatchNorm: one training-mode forward (batch statistics; running stats updated with the
    # unbiased variance), then an eval-mode forward that uses the running stats.
    for n_dim, shape in ((1, (3, 4, 9)), (2, (2, 4, 5, 6)), (3, (2, 4, 3, 4, 5))):
        bn = BatchNorm(n_dim, 4)
        with torch.no_grad():
            bn.norm.weight.normal_()
            bn.norm.bias.normal_()
        case = OrderedDict(n_dim=n_dim, state_dict=state(bn))
        run(case, bn, 2 * torch.randn(*shape) + 0.5)
        case["state_after"] = state(bn)
        cases[f"batch_norm_{n_dim}d_train"] = case
        bn.eval()
        bn.zero_grad()
        case = OrderedDict(n_dim=n_dim, state_dict=state(bn))
        cases[f"batch_norm_{n_dim}d_eval"] = run(case, bn, torch.randn(*shape))

    # AdaIN(embed_dim=3, 4 channels): the affine parameters come from an MLP of the embedding.
    ada = AdaIN(3, 4)
    e = torch.randn(3, requires_grad=True)
    ada.set_embedding(e)
    case = OrderedDict(embed_dim=3, channels=4, embedding=e.detach().clone(), state_dict=state(ada))
    cases["ada_in_2d"] = run(case, ada, torch.randn(2, 4, 6, 5), extra_inputs=[("embedding", e)])

    # resample to given sizes: 1 axis linear, 2 axes bicubic (align_corners=True), 3 axes spectral.
    for name, shape, out in (("resample_1d_up", (2, 3, 10), (17,)), ("resample_1d_down", (2, 3, 10), (6,)),
                             ("resample_2d_mixed", (2, 3, 9, 7), (12, 5)), ("resample_2d_same", (1, 2, 6, 5), (6, 5)),
                             ("resample_3d_mixed", (1, 2, 6, 5, 8), (9, 4, 10)),
                             ("resample_3d_odd", (2, 1, 7, 6, 5), (5, 8, 7))):
        f = (lambda o: (lambda x: resample(x, 1.0, list(range(2, x.ndim)), output_shape=o)))(out)
        cases[name] = run(OrderedDict(output_shape=list(out)), f, torch.randn(*shape))

    # LinearChannelMLP([3, 5, 2]) on the last axis of a (2, 4, 3) input.
    mlp = LinearChannelMLP([3, 5, 2])
    cases["linear_channel_mlp"] = run(OrderedDict(layers=[3, 5, 2], state_dict=state(mlp)), mlp, torch.randn(2, 4, 3))

    # GridEmbedding2D with custom boundaries, batched and unbatched.
    ge = GridEmbedding2D(2, grid_boundaries=[[0.0, 2.0], [-1.0, 1.0]])
    x = torch.randn(2, 2, 5, 7)
    cases["grid_embedding_2d"] = OrderedDict(x=x, y=ge(x), boundaries=[[0.0, 2.0], [-1.0, 1.0]])
    x = torch.randn(2, 5, 7)
    cases["grid_embedding_2d_unbatched"] = OrderedDict(x=x, y=ge(x, batched=False), boundaries=[[0.0, 2.0], [-1.0, 1.0]])

    # SinusoidalEmbedding: nerf on (n, C), transformer on (B, n, C).
    se = SinusoidalEmbedding(2, num_frequencies=3, embedding_type="nerf")
    cases["sinusoidal_nerf"] = run(OrderedDict(in_channels=2, num_frequencies=3, embedding_type="nerf"), se,
                                   torch.rand(5, 2))
    se = SinusoidalEmbedding(2, num_frequencies=4, embedding_type="transformer", max_positions=100)
    cases["sinusoidal_transformer"] = run(
        OrderedDict(in_channels=2, num_frequencies=4, embedding_type="transformer", max_positions=100), se,
        10 * torch.rand(2, 5, 2))

    # FNOBlocks(3 -> 3, 2 layers) with AdaIN norms (FNO itself cannot pass ada_in_features): one
    # embedding for all four norms; y = blocks(blocks(x, 0), 1).
    blocks = FNOBlocks(3, 3, (4, 4), n_layers=2, norm="ada_in", ada_in_features=2)
    e = torch.randn(2, requires_grad=True)
    blocks.set_ada_in_embeddings(e)
    case = OrderedDict(embedding=e.detach().clone(), state_dict=state(blocks))
    cases["fno_blocks_ada_in"] = run(case, lambda x: blocks(blocks(x, 0), 1), torch.randn(2, 3, 8, 8),
                                     extra_inputs=[("embedding", e)])
    for pname, p in blocks.named_parameters():
        case["grad." + pname] = p.grad

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.save(cases, OUT)
    torch.load(OUT, weights_only=True)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
