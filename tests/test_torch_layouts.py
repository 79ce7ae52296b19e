"""The layouts the torch backends hand inputs and upstream gradients to torch in: the values are
the input's, the strides are the layout's (so another kernel runs), and the gradient's upstream
takes the same layout. Strides are worked by hand from each layout's definition."""

import numpy as np
import pytest
import torch

from conformance.runner.loading import load_backend
from conformance.backends.torch_backend import LAYOUTS, TorchBackend


def _laid_out(layout, shape, spatial_dims):
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    tensor = TorchBackend(layout=layout)._tensor(values, spatial_dims)
    assert np.array_equal(tensor.numpy(), values), f"{layout} changed the values"
    return tensor


@pytest.mark.parametrize("layout, shape, spatial_dims, strides", [
    # channels_last of (N, C, H, W) = (2, 3, 4, 5): C innermost, then W, H, N.
    ("channels-last", (2, 3, 4, 5), 2, (60, 1, 15, 3)),
    # channels_last_3d of (N, C, D, H, W) = (2, 3, 2, 4, 5): C innermost, then W, H, D, N.
    ("channels-last", (2, 3, 2, 4, 5), 3, (120, 1, 60, 15, 3)),
    # torch defines no memory format for 1-d pooling or unbatched inputs: left contiguous.
    ("channels-last", (2, 3, 5), 1, (15, 5, 1)),
    ("channels-last", (3, 4, 5), 2, (20, 5, 1)),
    # channels innermost at every rank: (N, L, C) transposed to (N, C, L); (H, W, C) to (C, H, W).
    ("permuted", (2, 3, 5), 1, (15, 1, 3)),
    ("permuted", (3, 4, 5), 2, (1, 15, 3)),
    ("permuted", (2, 3, 2, 4, 5), 3, (120, 1, 60, 15, 3)),
    # every axis reversed: the batch innermost, the width outermost.
    ("transposed", (2, 3, 4, 5), 2, (1, 2, 6, 24)),
    ("transposed", (3, 5), 1, (1, 3)),
    # every other element of a buffer twice as long on each axis.
    ("noncontiguous", (2, 3, 4, 5), 2, (960, 160, 20, 2)),
])
def test_layout_strides(layout, shape, spatial_dims, strides):
    assert _laid_out(layout, shape, spatial_dims).stride() == strides


def test_channels_last_3d_reaches_3d_ops():
    tensor = _laid_out("channels-last", (2, 3, 2, 4, 5), 3)
    assert tensor.is_contiguous(memory_format=torch.channels_last_3d)
    assert not tensor.is_contiguous()


@pytest.mark.parametrize("layout", sorted(set(LAYOUTS) - {"contiguous"}))
def test_each_layout_is_a_builtin_backend_whose_gradient_upstream_has_it(layout, monkeypatch):
    backend = load_backend(f"torch-{layout}")
    shape, spatial_dims = (2, 3, 4, 4), 2
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    upstream = np.ones((2, 3, 2, 2), np.float32)
    expected = TorchBackend().vjp("avg_pool2d", x, upstream, 2)
    seen = []
    grad = torch.autograd.grad

    def spy(outputs, inputs, grad_outputs):
        seen.append((inputs.stride(), grad_outputs.stride()))
        return grad(outputs, inputs, grad_outputs)

    monkeypatch.setattr(torch.autograd, "grad", spy)
    assert np.allclose(backend.vjp("avg_pool2d", x, upstream, 2), expected)
    input_strides, upstream_strides = seen[0]
    assert input_strides == _laid_out(layout, shape, spatial_dims).stride()
    assert upstream_strides == _laid_out(layout, upstream.shape, spatial_dims).stride()
    assert upstream_strides != torch.ones(upstream.shape).stride()
