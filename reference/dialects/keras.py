"""The Keras dialect: the Keras 3 pooling layers, each called on one input.

From the layer docs (https://keras.io/api/layers/pooling_layers/): MaxPooling1D/2D/3D and
AveragePooling1D/2D/3D take `pool_size` (an int or a tuple of one int per axis; defaults 2,
(2, 2), (2, 2, 2)), `strides` (None: `pool_size`), `padding` ("valid" or "same",
case-insensitive) and `data_format` ("channels_last", (batch, *spatial, channels), the default
when the Keras config says nothing, or "channels_first"). GlobalMaxPooling* and
GlobalAveragePooling* take `data_format` and `keepdims` (False: the output is
(batch, channels)). Inputs are batched: rank spatial dims + 2.

"same" is TF's SAME (reference.dialects.padding): ceil(L / stride) windows, the odd padding
element at the end. Max pooling never picks padding; average pooling divides by the real
elements only (TF's avg_pool, which Keras' "same" follows on every backend).
"""

from __future__ import annotations

from reference.dialects.plan import Plan
from reference.dialects.tf import axis_windows
from reference.parameters import per_axis
from reference.pooling import global_windows

DATA_FORMATS = ("channels_last", "channels_first")


def _check(op, input_shape, dims, data_format):
    if len(input_shape) != dims + 2 or 0 in input_shape[1:]:
        raise ValueError(f"{op}: expected a rank {dims + 2} input with nonzero channels and "
                         f"spatial sizes, got {list(input_shape)}")
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{op}: data_format must be channels_last or channels_first, "
                         f"got {data_format!r}")
    return data_format == "channels_last"


def _tuple(op, name, value, dims):
    entries = per_axis(op, name, value, dims)
    if any(v < 1 for v in entries):
        raise ValueError(f"{op}: {name} must be positive, got {entries}")
    return entries


def _sliding_layer(family, reduction, dims):
    layer = f"{'Max' if reduction == 'max' else 'Average'}Pooling{dims}D"
    default_size = 2 if dims == 1 else (2,) * dims

    def plan(input_shape, pool_size=default_size, strides=None, padding="valid",
             data_format="channels_last"):
        last = _check(layer, input_shape, dims, data_format)
        kernel = _tuple(layer, "pool_size", pool_size, dims)
        strides = kernel if strides is None else _tuple(layer, "strides", strides, dims)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
        lengths = input_shape[1:-1] if last else input_shape[2:]
        windows, geometry = axis_windows(layer, lengths, kernel, strides, padding.upper(),
                                         [1] * dims)
        return Plan(family=family, reduction=reduction, windows=windows, channels_last=last,
                    count_include_pad=False, geometry=geometry)

    plan.__name__ = plan.__qualname__ = layer
    return layer, plan


def _global_layer(family, reduction, dims):
    layer = f"Global{'Max' if reduction == 'max' else 'Average'}Pooling{dims}D"

    def plan(input_shape, data_format="channels_last", keepdims=False):
        last = _check(layer, input_shape, dims, data_format)
        channels_first = ((input_shape[0], input_shape[-1], *input_shape[1:-1]) if last
                          else tuple(input_shape))
        windows = tuple(tuple(axis) for axis in global_windows(channels_first, dims))
        return Plan(family=family, reduction=reduction, windows=windows, channels_last=last,
                    keep_spatial=bool(keepdims))

    plan.__name__ = plan.__qualname__ = layer
    return layer, plan


OPS = dict(
    [_sliding_layer("max_pool", "max", n) for n in (1, 2, 3)]
    + [_sliding_layer("avg_pool", "average", n) for n in (1, 2, 3)]
    + [_global_layer("global_max_pool", "max", n) for n in (1, 2, 3)]
    + [_global_layer("global_avg_pool", "average", n) for n in (1, 2, 3)]
)
FAMILIES = {name: ("global_" if name.startswith("Global") else "")
            + ("max_pool" if "Max" in name else "avg_pool") for name in OPS}
SPATIAL_DIMS = {name: int(name[-2]) for name in OPS}
