"""torch as a backend: `torch.nn.functional` (built-in `torch`) or `torch.nn` modules (`torch-nn`).

torch has no min pooling and no functional global average pooling: `min_pool*d` is absent (so
unsupported), and `global_avg_pool*d` is `mean` over the spatial dims for the functional backend
(every shape passed to it as given: conformance/deviations/torch-mean.toml) and
`AdaptiveAvgPoolNd(1)` for the module backend, the course notebook's definition under test.
Arguments are bound by torch's signatures (torch_signatures) and reach torch unchanged; this
adapter never consults the oracle.
"""

from __future__ import annotations

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


def _every_other_element_of(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor`'s values in a view that is contiguous in no dimension: every other element of a
    buffer twice as long on each axis, as a slice of a larger activation would be. Kernels that
    assume unit strides, or that call `.contiguous()` and write back to the wrong buffer, differ
    here (the gradient too: autograd hands the backward pass views of this layout)."""
    if tensor.dim() == 0 or tensor.numel() == 0:
        return tensor
    doubled = torch.empty([2 * size for size in tensor.shape], dtype=tensor.dtype,
                          device=tensor.device)
    view = doubled[tuple(slice(None, None, 2) for _ in tensor.shape)]
    view.copy_(tensor)
    return view


class TorchBackend:
    """Calls torch on `device`, optionally on inputs in `memory_format` (e.g. channels_last) or
    on non-contiguous views (`strided`)."""

    def __init__(self, name: str = "torch", device: str = "cpu", memory_format=None,
                 strided: bool = False, use_modules: bool = False):
        self.name = name
        self.version = torch.__version__
        self.device = device
        self.memory_format = memory_format
        self.strided = strided
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
        # channels_last applies to batched 4-D (2-d pooling) and 5-D (3-d pooling) inputs only.
        tensor = to_torch(array, self.device)
        batched = array.ndim == spatial_dims + 2
        memory_format = self.memory_format if batched and spatial_dims > 1 else None
        if memory_format is torch.channels_last and spatial_dims == 3:
            memory_format = torch.channels_last_3d
        if memory_format is not None:
            tensor = tensor.contiguous(memory_format=memory_format)
        return _every_other_element_of(tensor) if self.strided else tensor

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


def channels_last() -> TorchBackend:
    """2-d and 3-d inputs in channels_last(_3d) memory: torch runs different CPU kernels."""
    return TorchBackend("torch-channels-last", memory_format=torch.channels_last)


def non_contiguous() -> TorchBackend:
    """Inputs (and upstream gradients) as strided views, every other element on each axis."""
    return TorchBackend("torch-noncontiguous", strided=True)
