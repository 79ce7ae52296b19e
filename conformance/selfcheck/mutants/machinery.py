"""The machinery of a mutant: its changed ops see one `Call` (or `GradientCall`) on torch tensors
and return what torch's op would; `MutantBackend` is torch's functional backend with those ops
replaced; a `Witness` is the small input that shows the bug."""


from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch

import reference
from conformance.engine.arrays import NUMPY_DTYPES
from conformance.backends.torch_backend import functional, to_numpy, to_torch
from reference.pooling import op_arguments



@dataclass(frozen=True)
class Call:
    """One call of an op on a mutant: the torch input and every argument, defaults filled in."""

    family: str
    dims: int
    x: torch.Tensor
    args: dict
    correct: Callable  # the correct backend's op: NumPy in, NumPy out
    passed: tuple[str, ...] = field(default=(), kw_only=True)  # the arguments the caller gave

    def left_to_default(self, name: str) -> bool:
        """Whether the caller left `name` to the op's default: omitted, or passed as None."""
        return name not in self.passed or self.args.get(name) is None

    def torch(self, x: torch.Tensor | None = None, **changes):
        """What the correct backend returns, on another input or with some arguments changed."""
        result = self.correct(to_numpy(self.x if x is None else x), **{**self.args, **changes})
        return on_parts(result, to_torch)

    def axes(self, name: str) -> tuple:
        """An int-or-tuple argument as one entry per spatial axis (stride=None: the kernel)."""
        if name == "dilation" and name not in self.args:  # avg pooling has none
            return (1,) * self.dims
        value = self.args[name]
        if name == "stride" and value in (None, (), []):
            value = self.args["kernel_size"]
        value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        return value * self.dims if len(value) == 1 else value

    @property
    def spatial(self) -> tuple[int, ...]:
        return tuple(self.x.shape[-self.dims:])

    @property
    def batched(self) -> bool:
        return self.x.ndim == self.dims + 2


@dataclass(frozen=True)
class GradientCall(Call):
    """One call of an op's vjp on a mutant: a Call with the upstream gradient."""

    grad_output: torch.Tensor
    correct_vjp: Callable  # the correct backend's vjp of this op: NumPy in, NumPy out

    def torch_vjp(self, x: torch.Tensor | None = None, **changes) -> torch.Tensor:
        """What the correct backend's vjp returns for this upstream gradient, on another input
        or with some arguments changed (giving an output of the same shape)."""
        return to_torch(self.correct_vjp(to_numpy(self.x if x is None else x),
                                         to_numpy(self.grad_output), **{**self.args, **changes}))


Implementation = Callable[[Call], object]
GradientImplementation = Callable[[GradientCall], torch.Tensor]


@dataclass(frozen=True)
class Witness:
    """An input on which a mutant and the correct backend differ: in the op's result, or, with
    `grad_output`, in its gradient."""

    op: str
    input: list  # nested lists of Python numbers (an array where lists cannot spell the shape)
    kwargs: dict = field(default_factory=dict)
    dtype: str = "float32"
    grad_output: list | None = None  # the upstream gradient, for a backward bug
    # A convention bug (which of several NaNs an index names) shows only where the oracle's and
    # torch's defensible conventions differ: there the mutant must differ from both.
    between_conventions: bool = False

    def array(self, values=None) -> np.ndarray:
        values = self.input if values is None else values
        return np.array(values, dtype=np.float64).astype(NUMPY_DTYPES[self.dtype])

    def run(self, backend):
        if self.grad_output is None:
            return getattr(backend, self.op)(self.array(), **self.kwargs)
        return backend.vjp(self.op, self.array(), self.array(self.grad_output), **self.kwargs)


def _for_op(implementations: Mapping, op_name: str):
    return implementations.get(op_name) or implementations.get(op_name[:-2])


@dataclass(frozen=True)
class Mutant:
    """One bug: `ops` maps an op family ("max_pool") or one op ("avg_pool2d") to its buggy
    implementation, `gradients` likewise to a buggy backward (its vjp) where the forward stays
    torch's. Calling the mutant gives its backend, which is what a backend SPEC loads."""

    name: str
    bug: str
    ops: Mapping[str, Implementation]
    witness: Witness
    gradients: Mapping[str, GradientImplementation] = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.ops) | set(self.gradients)
        unknown -= set(reference.FAMILIES) | set(reference.OP_NAMES)
        if unknown:
            raise ValueError(f"mutant {self.name}: no such op or family: {sorted(unknown)}")

    def implementation(self, op_name: str) -> Implementation | None:
        return _for_op(self.ops, op_name)

    def gradient_implementation(self, op_name: str) -> GradientImplementation | None:
        return _for_op(self.gradients, op_name)

    @property
    def changed_ops(self) -> tuple[str, ...]:
        """The ops whose forward the mutant changes."""
        return tuple(op for op in reference.OP_NAMES if self.implementation(op))

    @property
    def changed_gradients(self) -> tuple[str, ...]:
        """The ops whose backward the mutant changes."""
        return tuple(op for op in reference.OP_NAMES if self.gradient_implementation(op))

    def __call__(self) -> MutantBackend:
        return MutantBackend(self)


class MutantBackend:
    """torch's functional backend, except for the ops its mutant changes.

    An unchanged op is the correct backend's own (getattr fallthrough). A changed op binds its
    arguments by the oracle's signature, hands the mutant a `Call` on torch tensors, and reaches
    torch only through the correct backend's public ops, so it tracks that adapter's behaviour.
    """

    def __init__(self, mutant: Mutant):
        self.mutant = mutant
        self.correct = functional()
        self.name = f"mutant:{mutant.name}"
        # A local version label keeps torch's version visible and the string PEP 440-valid.
        self.version = f"{torch.__version__}{'.' if '+' in torch.__version__ else '+'}mutant"

    def __getattr__(self, op_name: str):
        mutant = vars(self).get("mutant")  # absent while copying or unpickling
        if mutant is None or op_name.startswith("__"):
            raise AttributeError(op_name)
        correct_op = getattr(self.correct, op_name)  # AttributeError where torch lacks the op
        implementation = mutant.implementation(op_name)
        if implementation is None:
            return correct_op
        family, dims = op_name[:-2], int(op_name[-2])

        def op(input: np.ndarray, *args, **kwargs):
            arguments = op_arguments(op_name, *args, **kwargs)
            passed = tuple(list(arguments)[:len(args)]) + tuple(kwargs)
            with torch.no_grad():
                result = implementation(Call(family, dims, to_torch(input), arguments, correct_op,
                                             passed=passed))
            return on_parts(result, to_numpy)

        op.__name__ = op_name
        return op

    def vjp(self, op_name: str, input: np.ndarray, grad_output: np.ndarray, *args, **kwargs):
        """torch's vjp, except for the ops whose backward the mutant changes."""
        implementation = self.mutant.gradient_implementation(op_name)
        if implementation is None:
            return self.correct.vjp(op_name, input, grad_output, *args, **kwargs)
        call = GradientCall(
            op_name[:-2], int(op_name[-2]), to_torch(input), op_arguments(op_name, *args, **kwargs),
            getattr(self.correct, op_name), to_torch(grad_output),
            functools.partial(self.correct.vjp, op_name),
        )
        return to_numpy(implementation(call))


def on_parts(result, change):
    """`change` applied to the array, or to each array of a (values, indices) tuple."""
    return tuple(map(change, result)) if isinstance(result, tuple) else change(result)
