"""PaddlePaddle as a backend (`conformance.backends.paddle_backend:PaddleBackend`):
`paddle.nn.functional`'s pooling on the CPU, on torch's (N, C, *spatial) layout (Paddle's NCHW).

Paddle's pooling functions are torch's with other names for two parameters. How each torch
parameter maps (N native, P explicit padding, E emulated, - unsupported):

| torch parameter | how | with |
|---|---|---|
| max pool: kernel_size, stride, padding, ceil_mode | N | `F.max_pool{1,2,3}d` |
| return_indices (max, adaptive max) | N | `return_mask=True`; the int32 mask (flat per plane, unpadded) as int64 |
| avg pool: kernel_size, stride, padding, ceil_mode, divisor_override | N | `F.avg_pool{1,2,3}d` (torch's avg_pool1d has no divisor_override either) |
| count_include_pad | N | `exclusive = not count_include_pad` |
| adaptive avg / max pool | N | `F.adaptive_avg_pool{1,2,3}d` / `F.adaptive_max_pool{1,2,3}d` |
| global avg pool | N | `paddle.mean` over the spatial axes, keepdim |
| unbatched input (C, *spatial) | P | a batch axis of 1 (`unsqueeze(0)`, then `squeeze(0)`): Paddle's pooling takes batched inputs only |
| dilation | - | NotImplementedError unless 1: Paddle's pooling has none |
| min pool | - | absent: Paddle has no min pooling (as in the torch adapter) |

A dtype without a CPU kernel (Paddle 3.3 pools float16, float32 and float64 only; its error is
"(NotFound) The kernel with key (CPU, ..., int8) of kernel `pool2d` is not registered") raises
NotImplementedError with Paddle's message. Everything else is Paddle's: what it accepts or
rejects (arguments go through as torch received them), its accumulation and its choices. bfloat16
inputs enter Paddle as float32 cast with `astype('bfloat16')` (exact), as `paddle.to_tensor`
takes no ml_dtypes array. The backward pass (`vjp`) is `paddle.grad` of the forward's values;
a max-pooling case whose forward mask leaves the plane is not run (NotImplementedError), as
Paddle's backward would scatter outside the gradient (see `_refuse_writes_outside_the_gradient`).
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("GLOG_minloglevel", "2")  # Paddle's C++ info logs swamp test output

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

with warnings.catch_warnings():  # "No ccache found", about its C++ extension builder
    warnings.simplefilter("ignore")
    import paddle  # noqa: E402
import paddle.nn.functional as F  # noqa: E402

from conformance.backends.torch_signatures import TorchLikeBackend, is_one, owned  # noqa: E402

_NO_KERNEL = "(NotFound) The kernel with key"


def _max_pool(x, dims, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    if not is_one(dilation):
        raise NotImplementedError("Paddle's max pooling has no dilation")
    return getattr(F, f"max_pool{dims}d")(x, kernel_size, stride, padding,
                                          return_mask=return_indices, ceil_mode=ceil_mode)


def _avg_pool(x, dims, kernel_size, stride, padding, ceil_mode, count_include_pad,
              **divisor_override):  # absent for 1-d, as in torch and Paddle
    return getattr(F, f"avg_pool{dims}d")(x, kernel_size, stride, padding, ceil_mode=ceil_mode,
                                          exclusive=not count_include_pad, **divisor_override)


def _adaptive_avg_pool(x, dims, output_size):
    return getattr(F, f"adaptive_avg_pool{dims}d")(x, output_size)


def _adaptive_max_pool(x, dims, output_size, return_indices):
    return getattr(F, f"adaptive_max_pool{dims}d")(x, output_size, return_mask=return_indices)


def _global_avg_pool(x, dims):
    return paddle.mean(x, axis=list(range(-dims, 0)), keepdim=True)


_POOLS = {
    "max_pool": _max_pool,
    "avg_pool": _avg_pool,
    "adaptive_avg_pool": _adaptive_avg_pool,
    "adaptive_max_pool": _adaptive_max_pool,
    "global_avg_pool": _global_avg_pool,
}


def _to_paddle(array: np.ndarray, stop_gradient: bool = True):
    if array.dtype == ml_dtypes.bfloat16:
        tensor = paddle.to_tensor(array.astype(np.float32)).astype("bfloat16")
    else:
        tensor = paddle.to_tensor(array)
    tensor.stop_gradient = stop_gradient
    return tensor


def _to_numpy(tensor) -> np.ndarray:
    if tensor.dtype == paddle.bfloat16:
        return tensor.astype("float32").numpy().astype(ml_dtypes.bfloat16)
    return owned(tensor.numpy())


def _call(family: str, dims: int, x, arguments: dict):
    """The op on `x` in Paddle's layout (a batch axis added to an unbatched input)."""
    unbatched = x.ndim == dims + 1 and family != "global_avg_pool"
    if unbatched:
        x = x.unsqueeze(0)
    try:
        result = _POOLS[family](x, dims, **arguments)
    except RuntimeError as error:
        if _NO_KERNEL in str(error):
            raise NotImplementedError(str(error).strip().splitlines()[0]) from error
        raise
    if unbatched:
        return tuple(part.squeeze(0) for part in result) if isinstance(result, tuple) \
            else result.squeeze(0)
    return result


def _refuse_writes_outside_the_gradient(family, dims, input, arguments) -> None:
    """Paddle's max-pooling backward scatters each upstream gradient to the forward's mask
    index (`MaxPool{2,3}dWithIndexGradFunctor`, paddle/phi/kernels/funcs/pooling.cc). A window
    whose elements never beat the initial -FLT_MAX (all NaN, all -inf, or float64 values below
    float32's range) keeps the mask -1, and the scatter writes before the gradient's buffer (the
    process may abort). Such a case is not run: NotImplementedError, and the registry says why."""
    with_mask = {**arguments, "return_indices": True}
    _, mask = _call(family, dims, _to_paddle(input), with_mask)
    mask = mask.numpy()
    plane = int(np.prod(input.shape[-dims:]))
    if mask.size and (mask.min() < 0 or mask.max() >= plane):
        raise NotImplementedError(
            f"not run: the {family}{dims}d backward would write outside the gradient tensor "
            f"(the forward's mask runs {mask.min()}..{mask.max()}, a plane of {plane} elements)")


class PaddleBackend(TorchLikeBackend):
    """paddle.nn.functional's pooling on the CPU."""

    name = "paddle"
    families = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                "global_avg_pool")

    def __init__(self):
        paddle.set_device("cpu")
        self.version = paddle.__version__

    def run(self, family, dims, input, arguments):
        result = _call(family, dims, _to_paddle(input), arguments)
        if isinstance(result, tuple):
            values, mask = result
            return _to_numpy(values), owned(mask.numpy()).astype(np.int64)
        return _to_numpy(result)

    def gradient(self, family, dims, input, grad_output, arguments):
        """paddle.grad of the forward's values, given the upstream gradient."""
        if family in ("max_pool", "adaptive_max_pool"):
            _refuse_writes_outside_the_gradient(family, dims, input, arguments)
        x = _to_paddle(input, stop_gradient=False)
        output = _call(family, dims, x, arguments)
        (gradient,) = paddle.grad([output], [x], grad_outputs=[_to_paddle(grad_output)])
        return _to_numpy(gradient)
