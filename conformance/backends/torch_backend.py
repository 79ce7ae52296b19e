"""torch as a backend: `torch.nn.functional` (built-in `torch`) or `torch.nn` modules (`torch-nn`).

torch has no min pooling and no functional global average pooling: `min_pool*d` is absent (so
unsupported), and `global_avg_pool*d` is `mean` over the spatial dims for the functional backend
(every shape passed to it as given: conformance/deviations/torch-mean.toml) and
`AdaptiveAvgPoolNd(1)` for the module backend, the course notebook's definition under test.
Arguments are bound by torch's signatures (torch_signatures) and reach torch unchanged; this
adapter never consults the oracle.
"""

from __future__ import annotations

import functools
import math

import ml_dtypes
import numpy as np
import torch

from conformance.backends.torch_signatures import bind, split_op_name

FAMILIES = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "global_avg_pool")
_MODULE_CLASS_NAMES = {
    "max_pool": "MaxPool",
    "avg_pool": "AvgPool",
    "adaptive_avg_pool": "AdaptiveAvgPool",
    "adaptive_max_pool": "AdaptiveMaxPool",
}


# torch says "no kernel for this dtype" with NotImplementedError ("... not implemented for
# 'Char'"), except where an op routes through `mean`, which raises RuntimeError instead.
_UNSUPPORTED_DTYPE_MARKERS = ("could not infer output dtype",)


def to_torch(array: np.ndarray, device: str = "cpu") -> torch.Tensor:
    if array.dtype == ml_dtypes.bfloat16:
        tensor = torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    else:
        tensor = torch.from_numpy(np.array(array, copy=True))
    return tensor.to(device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def spatial_mean(tensor: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """Global average pooling as torch users write it, `x.mean(spatial dims, keepdim=True)`:
    torch has no such function. `mean` reduces the trailing dims of any rank and takes empty
    ones; what it does with a shape the pooling ops reject is torch's answer (registry)."""
    return tensor.mean(dim=tuple(range(-spatial_dims, 0)), keepdim=True)


def refuse_writes_outside_the_gradient(op_name: str, indices: torch.Tensor,
                                       plane_size: int) -> None:
    """torch's max pooling backward adds each upstream gradient at the forward's index with no
    bounds check (`grad_input_ptr[maxindex] += ...`, MaxPoolKernel.cpp). For a window with no
    input element that index lies outside its plane, so the write lands outside the gradient
    tensor and corrupts the heap (the process may abort). Such a case is not run: it is
    unsupported (NotImplementedError), and the deviation registry says why."""
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= plane_size):
        raise NotImplementedError(
            f"not run: the {op_name} backward would write outside the gradient tensor "
            f"(the forward's indices run {int(indices.min())}..{int(indices.max())}, a plane "
            f"of {plane_size} elements 0..{plane_size - 1})"
        )


def _stored_in_order(tensor: torch.Tensor, order: list[int]) -> torch.Tensor:
    """`tensor`'s values in a dense buffer whose dims run in `order` (outermost first), viewed
    in the logical order again: a permuted view, as `x.permute(...)` of another tensor is."""
    inverse = [order.index(dim) for dim in range(tensor.dim())]
    return tensor.permute(order).contiguous().permute(inverse)


def _contiguous(tensor: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    return tensor


def _channels_last(tensor: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """torch's channels_last (batched 2-d pooling, 4-D) and channels_last_3d (batched 3-d
    pooling, 5-D) memory formats, the only ranks torch defines them for; other inputs as given."""
    formats = {(2, 4): torch.channels_last, (3, 5): torch.channels_last_3d}
    memory_format = formats.get((spatial_dims, tensor.dim()))
    return tensor.contiguous(memory_format=memory_format) if memory_format else tensor


def _channels_innermost(tensor: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """Channels stored innermost at every rank, (N, *spatial, C) or (*spatial, C), viewed as
    (N, C, *spatial): what a sequence model hands a 1-d pooling op (`x.transpose(1, 2)` of an
    (N, L, C) activation), and channels-last for the unbatched and 1-d inputs that torch's
    memory formats leave out. Batched 2-d and 3-d inputs get channels_last's strides."""
    channel = tensor.dim() - spatial_dims - 1
    if channel < 0:
        return tensor
    return _stored_in_order(tensor, [d for d in range(tensor.dim()) if d != channel] + [channel])


def _axes_reversed(tensor: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """Every axis stored in reverse order (the width outermost, the batch innermost: a
    transposed, Fortran-order buffer), so that no stride is the one a contiguous kernel
    assumes and the spatial axes are transposed in memory."""
    return _stored_in_order(tensor, list(reversed(range(tensor.dim()))))


def _every_other_element(tensor: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """`tensor`'s values in a view that is contiguous in no dimension: every other element of a
    buffer twice as long on each axis, as a slice of a larger activation would be. Kernels that
    assume unit strides, or that call `.contiguous()` and write back to the wrong buffer, differ
    here."""
    if tensor.dim() == 0 or tensor.numel() == 0:
        return tensor
    doubled = torch.empty([2 * size for size in tensor.shape], dtype=tensor.dtype,
                          device=tensor.device)
    view = doubled[tuple(slice(None, None, 2) for _ in tensor.shape)]
    view.copy_(tensor)
    return view


# The memory layouts an input (and an upstream gradient) is handed to torch in: same values,
# other strides, so that torch's layout-specific kernels (and Inductor's code for those
# strides) run. One backend name per layout (loading.py); `layout(tensor, spatial_dims)`.
LAYOUTS = {
    "contiguous": _contiguous,
    "channels-last": _channels_last,
    "permuted": _channels_innermost,
    "transposed": _axes_reversed,
    "noncontiguous": _every_other_element,
}


class TorchBackend:
    """Calls torch on `device`, on inputs (and upstream gradients) in one of the LAYOUTS."""

    def __init__(self, name: str = "torch", device: str = "cpu", layout: str = "contiguous",
                 use_modules: bool = False):
        self.name = name
        self.version = torch.__version__
        self.device = device
        self.layout = LAYOUTS[layout]
        self.use_modules = use_modules

    def __getattr__(self, op_name: str):
        family, spatial_dims = split_op_name(op_name, FAMILIES)

        def op(input: np.ndarray, *args, **kwargs):
            tensor = self._tensor(input, spatial_dims)
            with torch.no_grad():
                result = self._call(family, spatial_dims, tensor, args, kwargs)
            if isinstance(result, tuple):
                return tuple(to_numpy(part) for part in result)
            return to_numpy(result)

        op.__name__ = op_name
        return op

    def vjp(self, op_name: str, input: np.ndarray, grad_output: np.ndarray, *args, **kwargs):
        """The gradient of the op's values with respect to `input`, by torch.autograd; the
        upstream gradient takes the layout the input has, as the op's output would."""
        family, spatial_dims = split_op_name(op_name, FAMILIES)
        tensor = self._tensor(input, spatial_dims)
        if family == "max_pool" and op_name in self.UNCHECKED_MAX_POOL_BACKWARD:
            arguments = {**bind(family, spatial_dims, None, args, kwargs), "return_indices": True}
            with torch.no_grad():
                _, indices = self._call(family, spatial_dims, tensor, (), arguments)
            refuse_writes_outside_the_gradient(
                op_name, indices, math.prod(tensor.shape[-spatial_dims:]))
        tensor.requires_grad_()
        output = self._call(family, spatial_dims, tensor, args, kwargs)
        values = output[0] if isinstance(output, tuple) else output  # return_indices: ignored
        upstream = self._tensor(grad_output, spatial_dims)
        (gradient,) = torch.autograd.grad(values, tensor, upstream)
        return to_numpy(gradient)

    # The max pooling ops whose backward scatters through the forward's indices unchecked.
    UNCHECKED_MAX_POOL_BACKWARD = ("max_pool1d", "max_pool2d", "max_pool3d")

    def _tensor(self, array: np.ndarray, spatial_dims: int) -> torch.Tensor:
        return self.layout(to_torch(array, self.device), spatial_dims)

    def _call(self, family, spatial_dims, tensor, args, kwargs):
        """The op on `tensor`; where torch has no kernel for the dtype, NotImplementedError."""
        try:
            return self._call_torch(family, spatial_dims, tensor, args, kwargs)
        except RuntimeError as error:
            if any(marker in str(error) for marker in _UNSUPPORTED_DTYPE_MARKERS):
                raise NotImplementedError(str(error).splitlines()[0]) from error
            raise

    def _call_torch(self, family, spatial_dims, tensor, args, kwargs):
        """torch itself sees every argument as given, so it raises its own errors."""
        if family == "global_avg_pool":
            if self.use_modules:
                return getattr(torch.nn, f"AdaptiveAvgPool{spatial_dims}d")(1)(tensor, *args, **kwargs)
            if args or kwargs:
                raise TypeError(f"global_avg_pool{spatial_dims}d() takes only the input")
            return spatial_mean(tensor, spatial_dims)
        if self.use_modules:
            # Module constructors order their parameters differently (MaxPool2d puts
            # return_indices before ceil_mode), so positional arguments go by name; the
            # module's defaults are torch.nn.functional's, so the bound defaults change nothing.
            module_class = getattr(torch.nn, f"{_MODULE_CLASS_NAMES[family]}{spatial_dims}d")
            return module_class(**bind(family, spatial_dims, None, args, kwargs))(tensor)
        return getattr(torch.nn.functional, f"{family}{spatial_dims}d")(tensor, *args, **kwargs)


def functional() -> TorchBackend:
    return TorchBackend("torch")


def modules() -> TorchBackend:
    return TorchBackend("torch-nn", use_modules=True)


def in_layout(layout: str) -> TorchBackend:
    """Eager torch on inputs and upstream gradients in `layout` (LAYOUTS): `torch-<layout>`."""
    return TorchBackend(f"torch-{layout}", layout=layout)


channels_last, permuted, transposed, non_contiguous = (
    functools.partial(in_layout, layout)
    for layout in ("channels-last", "permuted", "transposed", "noncontiguous"))
