"""torch.export as a backend (`conformance.backends.torch_export_backend:exported`): each op is a
`torch.nn.Module` calling `torch.nn.functional`, exported with `torch.export.export` on the case's
input, and the exported program is run as users run it, through `ExportedProgram.module()`.

Every torch parameter is native (N): the module passes torch's arguments unchanged, so the
exported graph holds the ATen pooling ops with exactly those arguments (`max_pool2d_with_indices`,
`avg_pool2d`, `_adaptive_avg_pool2d`, ...), and torch's own checks run while exporting (its fake
tensors run the ops' meta functions) and again when the program runs. As in the `torch`
adapter, torch has no min pooling (absent, so unsupported) and global average pooling is the
idiom `x.mean(spatial dims, keepdim=True)`.

| torch parameter | how | with |
|---|---|---|
| every parameter of max / avg / adaptive pooling | N | `torch.nn.functional`, exported |
| global avg pool | N | `Tensor.mean` over the spatial dims, keepdim, exported |
| min pool | - | absent: torch has none |

Programs are exported with static shapes, one per op, arguments, dtype and input shape, as
`torch.export.export` does by default; exporting takes about 0.1 s (seconds for the first in a
process), so this backend runs the `compile` profile.

The backward pass (`vjp`) runs the exported program's module on an input that requires grad and
asks torch.autograd for the gradient: `torch.export` produces ATen-level training IR whose ops
autograd differentiates. torch's max-pooling backward adds each upstream gradient at the
forward's index with no bounds check (`grad_input_ptr[maxindex] += ...`, MaxPoolKernel.cpp), so a
case whose forward indices (from the exported program with return_indices) leave the plane is
not run: NotImplementedError, as in the `torch` adapter, instead of a write outside the gradient.
"""

from __future__ import annotations

import logging
import math
import re

import torch

from conformance.backends.torch_backend import (
    refuse_writes_outside_the_gradient, spatial_mean, to_numpy, to_torch,
)
from conformance.backends.torch_signatures import TorchLikeBackend

# torch rejecting arguments while exporting is a verdict, raised to the suite; its fake-tensor
# mode also logs each such error with a traceback ("failed while attempting to run meta for").
logging.getLogger("torch._subclasses.fake_tensor").setLevel(logging.CRITICAL)


# torch's words for "no kernel for this dtype". Eager torch raises NotImplementedError ('"avg_pool3d"
# not implemented for 'Byte''); while exporting, fake tensors raise it as RuntimeError
# ('... for 'torch.uint8''), and `mean` (global average pooling) raises RuntimeError "mean(): could
# not infer output dtype" for integers.
_NO_KERNEL_FOR_THE_DTYPE = re.compile(r"not implemented for '|could not infer output dtype")


def _without_a_kernel_unsupported(export_and_run):
    """The exported program's result; NotImplementedError where torch has no kernel for the
    input's dtype, as the contract marks a dtype the backend cannot run."""
    try:
        return export_and_run()
    except RuntimeError as error:
        if _NO_KERNEL_FOR_THE_DTYPE.search(str(error)):
            raise NotImplementedError(str(error).splitlines()[0]) from error
        raise


class Pooling(torch.nn.Module):
    """One torch pooling call with its arguments fixed, the module a user would export."""

    def __init__(self, family: str, spatial_dims: int, arguments: dict):
        super().__init__()
        self.family, self.spatial_dims, self.arguments = family, spatial_dims, arguments

    def forward(self, x):
        if self.family == "global_avg_pool":
            return spatial_mean(x, self.spatial_dims)
        function = getattr(torch.nn.functional, f"{self.family}{self.spatial_dims}d")
        return function(x, **self.arguments)


class TorchExportBackend(TorchLikeBackend):
    """Each op exported with torch.export and run through the exported program."""

    families = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                "global_avg_pool")

    def __init__(self, name: str = "torch-export"):
        self.name = name
        self.version = torch.__version__
        self._programs: dict = {}

    def run(self, family, dims, input, arguments):
        tensor = to_torch(input)
        with torch.no_grad():
            result = _without_a_kernel_unsupported(
                lambda: self._program(family, dims, arguments, tensor)(tensor))
        if isinstance(result, (tuple, list)):
            return tuple(to_numpy(part) for part in result)
        return to_numpy(result)

    def gradient(self, family, dims, input, grad_output, arguments):
        """torch.autograd through the exported program's module."""
        tensor = to_torch(input)
        if family == "max_pool":
            self._refuse_writes_past_the_gradient(dims, arguments, tensor)
        program = _without_a_kernel_unsupported(
            lambda: self._program(family, dims, arguments, tensor))
        tensor.requires_grad_()
        (gradient,) = torch.autograd.grad(program(tensor), tensor, to_torch(grad_output))
        return to_numpy(gradient)

    def _program(self, family: str, dims: int, arguments: dict, tensor: torch.Tensor):
        # repr, not the values: 2 == 2.0 == True, but torch accepts or rejects them differently.
        key = (family, dims, repr(sorted(arguments.items())), tensor.dtype, tuple(tensor.shape))
        if key not in self._programs:
            exported = torch.export.export(Pooling(family, dims, arguments), (tensor.detach(),))
            self._programs[key] = exported.module()
        return self._programs[key]

    def _refuse_writes_past_the_gradient(self, dims, arguments, tensor) -> None:
        with_indices = {**arguments, "return_indices": True}
        with torch.no_grad():
            _, indices = self._program("max_pool", dims, with_indices, tensor)(tensor)
        refuse_writes_outside_the_gradient(f"max_pool{dims}d", indices,
                                           math.prod(tensor.shape[-dims:]))


def exported() -> TorchExportBackend:
    return TorchExportBackend("torch-export")
