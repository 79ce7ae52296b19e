"""torch as a backend: `torch.nn.functional` (built-in `torch`) or `torch.nn` modules (`torch-nn`).

torch has no min pooling and no functional global average pooling: `min_pool*d` is absent (so
unsupported), and `global_avg_pool*d` is `mean` over the spatial dims for the functional backend
and `AdaptiveAvgPoolNd(1)` for the module backend, the course notebook's definition under test.
"""

from __future__ import annotations

import inspect
import math

import ml_dtypes
import numpy as np
import torch

import reference
from reference.pooling import op_arguments
from reference import parameters

_MODULE_CLASS_NAMES = {
    "max_pool": "MaxPool",
    "avg_pool": "AvgPool",
    "adaptive_avg_pool": "AdaptiveAvgPool",
    "adaptive_max_pool": "AdaptiveMaxPool",
}


# torch says "no kernel for this dtype" with NotImplementedError ("... not implemented for
# 'Char'"), except where an op routes through `mean`, which raises RuntimeError instead.
_UNSUPPORTED_DTYPE_MARKERS = ("could not infer output dtype",)


def to_torch(array: np.ndarray, device: str = "cpu", memory_format=None) -> torch.Tensor:
    if array.dtype == ml_dtypes.bfloat16:
        tensor = torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    else:
        tensor = torch.from_numpy(np.array(array, copy=True))
    tensor = tensor.to(device)
    return tensor.contiguous(memory_format=memory_format) if memory_format else tensor


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def _family_and_dims(op_name: str) -> tuple[str, int]:
    if op_name not in reference.OP_NAMES or op_name.startswith("min_pool"):
        raise AttributeError(op_name)
    return op_name[:-2], int(op_name[-2])


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
        family, spatial_dims = _family_and_dims(op_name)

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
        family, spatial_dims = _family_and_dims(op_name)
        tensor = self._tensor(input, spatial_dims)
        if family == "max_pool":
            self._refuse_writes_past_the_gradient(op_name, tensor, args, kwargs)
        tensor.requires_grad_()
        output = self._call(family, spatial_dims, tensor, args, kwargs)
        values = output[0] if isinstance(output, tuple) else output  # return_indices: ignored
        upstream = self._tensor(grad_output, spatial_dims)
        (gradient,) = torch.autograd.grad(values, tensor, upstream)
        return to_numpy(gradient)

    # The max pooling ops whose backward scatters through the forward's indices unchecked.
    UNCHECKED_MAX_POOL_BACKWARD = ("max_pool1d", "max_pool2d", "max_pool3d")

    def _refuse_writes_past_the_gradient(self, op_name, tensor, args, kwargs) -> None:
        """torch's max pooling backward adds each upstream gradient at the forward's index with
        no bounds check (`grad_input_ptr[maxindex] += ...`, MaxPoolKernel.cpp). For a window with
        no input element that index lies outside its plane (past it, from eager's forward), so
        the write lands outside the gradient tensor and corrupts the heap (the process may
        abort). Such a case is not run: it is unsupported, and the deviation registry says why."""
        if op_name not in self.UNCHECKED_MAX_POOL_BACKWARD:
            return
        spatial_dims = int(op_name[-2])
        arguments = {**op_arguments(op_name, *args, **kwargs), "return_indices": True}
        with torch.no_grad():
            _, indices = self._call("max_pool", spatial_dims, tensor, (), arguments)
        plane_size = math.prod(tensor.shape[-spatial_dims:])
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= plane_size):
            raise NotImplementedError(
                f"not run: the {op_name} backward would write outside the gradient tensor "
                f"(the forward's indices run {int(indices.min())}..{int(indices.max())}, a plane "
                f"of {plane_size} elements 0..{plane_size - 1})"
            )

    def _tensor(self, array: np.ndarray, spatial_dims: int) -> torch.Tensor:
        # channels_last applies to batched 4-D (2-d pooling) and 5-D (3-d pooling) inputs only.
        batched = array.ndim == spatial_dims + 2
        memory_format = self.memory_format if batched and spatial_dims > 1 else None
        if memory_format is torch.channels_last and spatial_dims == 3:
            memory_format = torch.channels_last_3d
        tensor = to_torch(array, self.device, memory_format)
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
        op_name = f"{family}{spatial_dims}d"
        if family == "global_avg_pool":
            if self.use_modules:
                return getattr(torch.nn, f"AdaptiveAvgPool{spatial_dims}d")(1)(tensor, *args, **kwargs)
            if args or kwargs:
                raise TypeError(f"{op_name}() takes only the input")
            # `mean` takes any rank and empty dims; which dims are spatial is this adapter's
            # mapping, so the adapter rejects inputs it cannot map, as torch's pooling ops do.
            parameters.check_input_shape(op_name, spatial_dims, tuple(tensor.shape))
            return tensor.mean(dim=tuple(range(-spatial_dims, 0)), keepdim=True)
        if self.use_modules:
            # Module constructors order their parameters differently (MaxPool2d puts
            # return_indices before ceil_mode), so positional arguments go by name.
            named = inspect.signature(getattr(reference, op_name)).bind_partial(None, *args, **kwargs)
            named.arguments.pop("input")
            module_class = getattr(torch.nn, f"{_MODULE_CLASS_NAMES[family]}{spatial_dims}d")
            return module_class(**named.arguments)(tensor)
        return getattr(torch.nn.functional, op_name)(tensor, *args, **kwargs)


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
