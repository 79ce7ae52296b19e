"""Keras 3 as a backend, once per Keras backend: `keras-tensorflow`, `keras-jax`, `keras-torch`,
`keras-numpy` (`conformance.backends.keras_backend:tensorflow` and so on), each also with
`-channels-first` (the layers' `data_format="channels_first"`; the plain names run Keras' default
`channels_last`).

Keras fixes its backend when it is first imported (from `KERAS_BACKEND`), so a process tests one
Keras backend: the adapter sets `KERAS_BACKEND` before importing keras, and refuses, in one line,
a process where keras was already imported with another backend. The ops are Keras' pooling
layers: `MaxPooling{1,2,3}D`, `AveragePooling{1,2,3}D`, `AdaptiveAveragePooling{1,2,3}D`,
`AdaptiveMaxPooling{1,2,3}D`, `GlobalAveragePooling{1,2,3}D`, which take `pool_size`, `strides`,
`padding` ('valid' or 'same') and `data_format`. How each torch parameter maps (N native, P
explicit padding, E emulated, - unsupported):

| torch parameter | how | with |
|---|---|---|
| layout | N / P | channels_first: (N, C, *spatial) as it is; channels_last: moved to (N, *spatial, C) and back (NumPy, before and after Keras); an unbatched (C, *spatial) input gets a batch axis of 1, as the layers pool batched inputs only |
| kernel_size, stride | N | `pool_size`, `strides` (torch's `stride=None` is Keras' `strides=None`: the pool size) |
| padding = 0, ceil_mode=False | N | `padding="valid"` |
| max: padding, ceil_mode | P | `keras.ops.pad` with -inf (the dtype's minimum for integers) by torch's padding and ceil mode's overhang (`torch_signatures.explicit_padding`), then `"valid"` |
| avg: padding with count_include_pad | P | `keras.ops.pad` with zeros, then `"valid"` |
| avg: count_include_pad=False, ceil_mode | E | `AveragePoolingND` of the zero-padded input divided by `AveragePoolingND` of a 0/1 mask padded alike (1 on the input, and on the declared padding with count_include_pad; 0 on ceil mode's overhang) |
| divisor_override | E | `AveragePoolingND` of the zero-padded input times K / divisor, a Python number (a zero divisor raises ZeroDivisionError) |
| integer avg: count_include_pad=False, ceil_mode, divisor_override | - | NotImplementedError: the emulations would rescale Keras' integer averages, already rounded |
| adaptive avg / max pool | N | `AdaptiveAveragePoolingND` / `AdaptiveMaxPoolingND`; torch's `None` in output_size is the input's size on that axis |
| global avg pool | N | `GlobalAveragePoolingND(keepdims=True)` |
| dilation | - | NotImplementedError unless 1: Keras' pooling has none |
| return_indices | - | NotImplementedError: Keras' pooling returns no indices |
| min pool | - | absent: Keras has none |
| backward pass | - | none yet: Keras 3 has no backend-independent gradient API |

`GlobalMaxPoolingND` has no op in the suite's catalogue (torch has no global max pooling; its
equivalent is adaptive max pooling to 1).

Everything else is Keras': what it accepts or rejects (arguments go through as torch received
them), dtypes and accumulation. A layer computes in its dtype policy and casts floating inputs to
it (float32 by default), so each layer is built with the input's float dtype, as a user pooling
float16 or float64 sets it; integer inputs are not cast, and get the default policy (Keras reads
the name `int8` as a quantization mode). `keras-jax` enables `jax_enable_x64`, without which JAX
turns float64 and int64 into float32 and int32 (the setting a JAX user needs for float64);
`keras-numpy` pools with `jax.lax.reduce_window` too and is left at JAX's default, as its users
run it. TensorFlow runs single-threaded.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from conformance.backends.errors import BackendError
from conformance.backends.torch_signatures import (
    TorchLikeBackend, adaptive_sizes, explicit_padding, is_one, owned, per_axis,
)

_LAYERS = {"max_pool": "MaxPooling", "avg_pool": "AveragePooling",
           "adaptive_avg_pool": "AdaptiveAveragePooling",
           "adaptive_max_pool": "AdaptiveMaxPooling", "global_avg_pool": "GlobalAveragePooling"}


def _is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f" or dtype.name == "bfloat16"


def _layer_dtype(dtype: np.dtype) -> dict:
    """The layer's dtype policy for an input of `dtype`: its own float dtype (a layer casts
    floating inputs to its policy), none for integers (not cast; Keras reads "int8" as a
    quantization mode)."""
    return {"dtype": dtype.name} if _is_float(dtype) else {}


def import_keras(keras_backend: str):
    """keras, imported with `keras_backend`; BackendError if this process already imported it
    with another one."""
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != keras_backend:
            raise BackendError(
                f"keras is already imported with its {current!r} backend in this process and "
                f"Keras fixes its backend at import: run keras-{keras_backend} in a process of "
                f"its own")
        return sys.modules["keras"]
    os.environ["KERAS_BACKEND"] = keras_backend
    if keras_backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    if keras_backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    return keras


# The keras dialect's ops (docs/backend-interface.md), each one Keras layer called as it is named.
KERAS_DIALECT_LAYERS = tuple(f"{kind}Pooling{dims}D" for kind in
                             ("Max", "Average", "GlobalMax", "GlobalAverage") for dims in (1, 2, 3))


class KerasBackend(TorchLikeBackend):
    """Keras 3 pooling layers on one Keras backend, in one data format."""

    dialects = ("torch", "keras")
    families = tuple(_LAYERS)
    vjp = None  # see the module docstring: gradients are unsupported for now

    def __getattr__(self, op_name: str):
        if op_name not in KERAS_DIALECT_LAYERS:
            return super().__getattr__(op_name)

        def layer(input: np.ndarray, **arguments):
            """The Keras layer built with the case's arguments as given, applied to `input`."""
            return self._apply(getattr(self.keras.layers, op_name)(
                **arguments, **_layer_dtype(input.dtype)), input)

        layer.__name__ = op_name
        return layer

    def _apply(self, function, x: np.ndarray) -> np.ndarray:
        return owned(self.keras.ops.convert_to_numpy(function(self.keras.ops.convert_to_tensor(x))))

    def __init__(self, keras_backend: str, data_format: str = "channels_last"):
        self.keras = import_keras(keras_backend)
        self.data_format = data_format
        suffix = "-channels-first" if data_format == "channels_first" else ""
        self.name = f"keras-{keras_backend}{suffix}"
        self.version = self.keras.__version__

    def run(self, family, dims, input, arguments):
        batched = input if input.ndim != dims + 1 else input[np.newaxis]
        channels_last = self.data_format == "channels_last" and batched.ndim >= 2
        x = np.ascontiguousarray(np.moveaxis(batched, 1, -1)) if channels_last else batched
        result = self._apply(self._forward(family, dims, arguments, x), x)
        if channels_last:
            result = np.moveaxis(result, -1, 1)
        return owned(result[0] if batched is not input else result)

    def _layer(self, family: str, dims: int, dtype: np.dtype, **options):
        layer = getattr(self.keras.layers, f"{_LAYERS[family]}{dims}D")
        return layer(data_format=self.data_format, **options, **_layer_dtype(dtype))

    def _spatial_axes(self, dims: int) -> range:
        first = 1 if self.data_format == "channels_last" else 2
        return range(first, first + dims)

    def _pad(self, x, pads, value):
        """`x` padded by `pads`, one (lo, hi) per spatial axis, with `value`."""
        width = [(0, 0)] * x.ndim
        for axis, pad in zip(self._spatial_axes(len(pads)), pads):
            width[axis] = pad
        return self.keras.ops.pad(x, width, constant_values=value)

    def _forward(self, family: str, dims: int, arguments: dict, x: np.ndarray):
        """The op as a function of the Keras tensor of `x` (batched, in the data format)."""
        spatial = tuple(x.shape[axis] for axis in self._spatial_axes(dims))
        if family == "global_avg_pool":
            return self._layer(family, dims, x.dtype, keepdims=True)
        if family in ("adaptive_avg_pool", "adaptive_max_pool"):
            if arguments.get("return_indices"):
                raise NotImplementedError("Keras' adaptive max pooling returns no indices")
            return self._layer(family, dims, x.dtype,
                               output_size=adaptive_sizes(arguments["output_size"], spatial))
        if family == "max_pool":
            return self._max_pool(dims, x, spatial, **arguments)
        return self._avg_pool(dims, x, spatial, **arguments)

    def _sliding(self, family, dims, x, kernel_size, stride):
        return self._layer(family, dims, x.dtype, pool_size=kernel_size, strides=stride,
                           padding="valid")

    def _max_pool(self, dims, x, spatial, kernel_size, stride, padding, dilation, ceil_mode,
                  return_indices):
        if not is_one(dilation):
            raise NotImplementedError("Keras' max pooling has no dilation")
        if return_indices:
            raise NotImplementedError("Keras' max pooling returns no indices")
        layer = self._sliding("max_pool", dims, x, kernel_size, stride)
        pads = explicit_padding(spatial, kernel_size, stride, padding, ceil_mode=ceil_mode)
        if not any(lo or hi for lo, hi in pads):
            return layer
        lowest = -math.inf if _is_float(x.dtype) else int(np.iinfo(x.dtype).min)
        return lambda tensor: layer(self._pad(tensor, pads, lowest))

    def _avg_pool(self, dims, x, spatial, kernel_size, stride, padding, ceil_mode,
                  count_include_pad, divisor_override=None):
        layer = self._sliding("avg_pool", dims, x, kernel_size, stride)
        pads = explicit_padding(spatial, kernel_size, stride, padding, ceil_mode=ceil_mode)
        overhang = any(lo != hi for lo, hi in pads)
        padded = any(lo for lo, _ in pads)
        if divisor_override is None and not overhang and (count_include_pad or not padded):
            return lambda tensor: layer(self._pad(tensor, pads, 0)) if padded else layer(tensor)
        if x.dtype.kind in "iu":
            raise NotImplementedError(
                "Keras' average pooling has no divisor_override, count_include_pad=False or "
                "ceil_mode, and their emulation divides Keras' own averages, which it rounds "
                "for integers")
        if divisor_override is not None:
            # K / divisor as a Python number: a zero divisor raises ZeroDivisionError.
            factor = math.prod(per_axis(kernel_size, dims)) / divisor_override
            return lambda tensor: layer(self._pad(tensor, pads, 0)) * factor
        mask = np.ones((1, 1, *spatial) if self.data_format == "channels_first"
                       else (1, *spatial, 1), dtype=x.dtype)

        def divided(tensor):
            counted = self._pad(mask, [(lo, lo) for lo, _ in pads], 1 if count_include_pad else 0)
            counted = self._pad(counted, [(0, hi - lo) for lo, hi in pads], 0)
            return layer(self._pad(tensor, pads, 0)) / layer(counted)

        return divided


def _factory(keras_backend: str, data_format: str = "channels_last"):
    def backend() -> KerasBackend:
        return KerasBackend(keras_backend, data_format)

    return backend


tensorflow = _factory("tensorflow")
jax = _factory("jax")
torch = _factory("torch")
numpy = _factory("numpy")
tensorflow_channels_first = _factory("tensorflow", "channels_first")
jax_channels_first = _factory("jax", "channels_first")
torch_channels_first = _factory("torch", "channels_first")
numpy_channels_first = _factory("numpy", "channels_first")
