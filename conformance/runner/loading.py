"""Finding the backend under test: built-in names, entry points, and `module:attribute` specs.

The contract a backend meets is in docs/backend-interface.md.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os

from conformance.backends.errors import BackendError

ENVIRONMENT_VARIABLE = "POOLING_CONFORMANCE_BACKEND"
ENTRY_POINT_GROUP = "pooling_conformance.backends"
DEFAULT_BACKEND = "torch"

# Built-in backends: name -> "module:attribute". Each adapter is one file under
# conformance/backends/; its attribute is a backend object or a callable returning one.
BUILTIN_BACKENDS = {
    "reference": "conformance.backends.reference_backend:ReferenceBackend",
    "torch": "conformance.backends.torch_backend:functional",
    "torch-nn": "conformance.backends.torch_backend:modules",
    "torch-channels-last": "conformance.backends.torch_backend:channels_last",
    "torch-permuted": "conformance.backends.torch_backend:permuted",
    "torch-transposed": "conformance.backends.torch_backend:transposed",
    "torch-noncontiguous": "conformance.backends.torch_backend:non_contiguous",
    "torch-compile": "conformance.backends.torch_compile_backend:TorchCompileBackend",
    "torch-compile-channels-last": "conformance.backends.torch_compile_backend:channels_last",
    "torch-compile-permuted": "conformance.backends.torch_compile_backend:permuted",
    "torch-compile-transposed": "conformance.backends.torch_compile_backend:transposed",
    "torch-compile-noncontiguous": "conformance.backends.torch_compile_backend:non_contiguous",
    "numpy": "conformance.backends.numpy_backend:NumpyBackend",
    "onnxruntime": "conformance.backends.onnxruntime_backend:OnnxRuntimeBackend",
    "onnx-reference": "conformance.backends.onnx_reference_backend:OnnxReferenceBackend",
    "jax": "conformance.backends.jax_backend:JaxBackend",
    "tensorflow": "conformance.backends.tensorflow_backend:TensorFlowBackend",
    "tinygrad": "conformance.backends.tinygrad_backend:TinygradBackend",
    "mlx": "conformance.backends.mlx_backend:MlxBackend",
    "paddle": "conformance.backends.paddle_backend:PaddleBackend",
    "flax": "conformance.backends.flax_backend:FlaxBackend",
    "torch-export": "conformance.backends.torch_export_backend:exported",
    "onnxruntime-native": "conformance.backends.onnx_native_backend:onnxruntime_native",
    "onnx-reference-native": "conformance.backends.onnx_native_backend:onnx_reference_native",
    "tensorflow-native": "conformance.backends.tensorflow_native_backend:tensorflow_native",
    "torch-onnx": "conformance.backends.torch_onnx_backend:dynamo",
    "torch-onnx-torchscript": "conformance.backends.torch_onnx_backend:torchscript",
    "keras-tensorflow": "conformance.backends.keras_backend:tensorflow",
    "keras-tensorflow-channels-first": "conformance.backends.keras_backend:tensorflow_channels_first",
    "keras-jax": "conformance.backends.keras_backend:jax",
    "keras-jax-channels-first": "conformance.backends.keras_backend:jax_channels_first",
    "keras-torch": "conformance.backends.keras_backend:torch",
    "keras-torch-channels-first": "conformance.backends.keras_backend:torch_channels_first",
    "keras-numpy": "conformance.backends.keras_backend:numpy",
    "keras-numpy-channels-first": "conformance.backends.keras_backend:numpy_channels_first",
}

# Built-in backends describe their own known deviations (conformance/deviations/<file>); a
# backend given by SPEC has none unless `--deviations FILE` names a registry.
BUILTIN_DEVIATIONS = {
    "torch": "torch.toml",
    "torch-nn": "torch-nn.toml",
    "torch-channels-last": "torch-channels-innermost.toml",
    "torch-permuted": "torch-channels-innermost.toml",
    "torch-transposed": "torch.toml",
    "torch-noncontiguous": "torch.toml",
    "torch-compile": "torch-compile.toml",
    "torch-compile-channels-last": "torch-compile.toml",
    "torch-compile-permuted": "torch-compile.toml",
    "torch-compile-transposed": "torch-compile.toml",
    "torch-compile-noncontiguous": "torch-compile.toml",
    "numpy": "numpy.toml",
    "onnxruntime": "onnxruntime.toml",
    "onnx-reference": "onnx-reference.toml",
    "jax": "jax.toml",
    "tensorflow": "tensorflow.toml",
    "tinygrad": "tinygrad.toml",
    "mlx": "mlx.toml",
    "paddle": "paddle.toml",
    "flax": "flax.toml",
    "torch-export": "torch-export.toml",
    "onnxruntime-native": "onnxruntime-native.toml",
    "onnx-reference-native": "onnx-reference-native.toml",
    "tensorflow-native": "tensorflow-native.toml",
    "torch-onnx": "torch-onnx.toml",
    "torch-onnx-torchscript": "torch-onnx-torchscript.toml",
    "keras-tensorflow": "keras-tensorflow.toml",
    "keras-tensorflow-channels-first": "keras-tensorflow.toml",
    "keras-jax": "keras-jax.toml",
    "keras-jax-channels-first": "keras-jax.toml",
    "keras-torch": "keras-torch.toml",
    "keras-torch-channels-first": "keras-torch.toml",
    "keras-numpy": "keras-numpy.toml",
    "keras-numpy-channels-first": "keras-numpy.toml",
}


# Backends that compile per case need a smaller example budget than `ci` (conformance.runner.profiles).
# tinygrad generates and clang-compiles kernels for every new shape (0.5 s and more a call);
# torch.export traces a program per shape (about 0.1 s, more than the eager call it wraps);
# torch.onnx exports one per shape (the dynamo exporter 2-3 s); Keras on JAX, and on NumPy (which
# pools with jax.lax), compiles each new shape's reduce_window (about 0.2 s a call).
BUILTIN_PROFILES = {**{name: "compile" for name in BUILTIN_BACKENDS
                       if name.startswith(("torch-compile", "torch-onnx", "keras-jax",
                                           "keras-numpy"))},
                    "tinygrad": "compile", "torch-export": "compile"}

# An isolated call that outruns this counts as a hang. A compiling backend's first call of a
# shape includes the compile (seconds of Inductor and gcc, tens of seconds for a 3-d backward),
# which must not read as one.
CALL_TIMEOUT = 10.0
COMPILING_CALL_TIMEOUT = 120.0


def builtin_run_settings(name: str, profile: str = "ci") -> tuple[str, float]:
    """The Hypothesis profile and call timeout a backend's report runs with unless told
    otherwise: `profile` and CALL_TIMEOUT, or, for the built-in backends that compile per case,
    their own profile and COMPILING_CALL_TIMEOUT."""
    if name in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[name], COMPILING_CALL_TIMEOUT
    return profile, CALL_TIMEOUT


def backend_spec(option_value: str | None = None) -> str:
    return option_value or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_BACKEND


def _entry_point_specs() -> dict[str, str]:
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_backends() -> dict[str, str]:
    """Every backend name this installation knows: built-ins, then installed plug-ins."""
    return {**BUILTIN_BACKENDS, **_entry_point_specs()}


def load_backend(spec: str):
    """The backend object named by SPEC, with `name` and `version` filled in."""
    target = available_backends().get(spec, spec)
    if ":" not in target:
        known = ", ".join(sorted(available_backends()))
        raise BackendError(
            f"unknown backend {spec!r}: give a built-in name ({known}) or 'package.module:attribute'"
        )
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BackendError(
            f"backend {spec!r} needs {error.name or module_name!r}, which is not installed "
            f"({error}); install the backend's extra, e.g. `pip install "
            f"pooling-conformance[{spec}]`, or run its tox environment"
        ) from error
    except Exception as error:  # the module itself is broken: say so in one line
        raise BackendError(f"importing {module_name!r} for backend {spec!r} failed: "
                           f"{type(error).__name__}: {error}") from error
    try:
        backend = getattr(module, attribute)
    except AttributeError as error:
        raise BackendError(f"module {module_name!r} has no attribute {attribute!r}") from error
    if callable(backend) and not any(hasattr(backend, op) for op in _op_names()):
        try:
            backend = backend()
        except Exception as error:
            raise BackendError(f"{target} is callable, but calling it to make the backend "
                               f"failed: {type(error).__name__}: {error}") from error
    if not any(hasattr(backend, op) for op in _op_names()):
        raise BackendError(
            f"{spec!r} ({type(backend).__name__}) provides none of the pooling functions "
            f"({', '.join(_op_names()[:3])}, ...): not a backend (docs/backend-interface.md)"
        )
    not_callable = [op for op in _op_names() if getattr(backend, op, None) is not None
                    and not callable(getattr(backend, op))]
    if not_callable:
        raise BackendError(f"{spec!r} has pooling attributes that are not callable: "
                           f"{', '.join(not_callable)}")
    if not getattr(backend, "name", None):
        _set_attribute(backend, "name", spec)
    if not getattr(backend, "version", None):
        _set_attribute(backend, "version", "unknown")
    return backend


def builtin_deviations_file(spec: str) -> str | None:
    return BUILTIN_DEVIATIONS.get(spec)


def _op_names():
    """Every op name of every dialect (reference.dialects), torch's first."""
    from reference import dialects

    return tuple(op for dialect in dialects.DIALECTS for op in dialects.op_names(dialect))


def _set_attribute(backend, name, value):
    try:
        setattr(backend, name, value)
    except (AttributeError, TypeError):
        pass  # a module or a frozen object: the report falls back to the SPEC
