"""Which arguments are invalid, and the error each one raises.

Messages follow the wording of torch's checks (aten/src/ATen/native/Pool.h, `pool2d_shape_check`
and friends, and AdaptivePooling.h), so a reader can match them; the exception type is
`TypeError` for an argument of the wrong type and `ValueError` for a wrong value (torch raises
`RuntimeError` for the latter; the suite accepts any exception as "raised").

Each check says what it follows from: "Mathematics" (without it there is no window, count or
quotient to compute) or "Torch-dialect restriction" (torch's API narrows the definition; the
source is cited). docs/oracle-audit.md tables them, with whether torch agrees.
"""

from __future__ import annotations

import numbers


def check_input_shape(op_name: str, spatial_dims: int, shape: tuple[int, ...]) -> None:
    """Batched (N, C, *spatial) or unbatched (C, *spatial); only the batch may be empty.

    Torch-dialect restriction, both halves (the mathematics pools any leading axes, and an empty
    axis gives an empty output or windows of padding alone). torch: "Expected 3D or 4D (batch
    mode) tensor with optional 0 dim batch size for input" (`pool2d_shape_check`, Pool.h).
    """
    batched_rank = spatial_dims + 2
    rank_ok = len(shape) in (batched_rank - 1, batched_rank)
    non_batch = shape[1:] if len(shape) == batched_rank else shape
    if not rank_ok or any(size == 0 for size in non_batch):
        raise ValueError(
            f"{op_name}: Expected {batched_rank - 1}D or {batched_rank}D (batch mode) tensor "
            f"with optional 0 dim batch size for input, but got: {list(shape)}"
        )


def per_axis(op_name: str, name: str, value, spatial_dims: int, allow_none: bool = False) -> tuple:
    """An int, or a tuple of one int or of one int per spatial axis, as one entry per axis.

    Torch-dialect restriction: the signature's `int or tuple of ints` (a bool is no int to torch's
    argument parser) and `_single` / `_pair` / `_triple` ("kernel_size must either be a single
    int, or a tuple of two ints", Pool.h).
    """
    entries = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    for entry in entries:
        if entry is None and allow_none:
            continue
        if isinstance(entry, bool) or not isinstance(entry, numbers.Integral):
            raise TypeError(
                f"{op_name}(): argument '{name}' must be an int or a tuple of ints, "
                f"not {type(entry).__name__}"
            )
    if len(entries) == 1:
        entries = entries * spatial_dims
    if len(entries) != spatial_dims:
        raise ValueError(
            f"{op_name}: {name} must either be a single int, or a tuple of {spatial_dims} ints"
        )
    return tuple(entry if entry is None else int(entry) for entry in entries)


def sliding_parameters(op_name, spatial_dims, kernel_size, stride, padding, dilation):
    """Per-axis kernel, stride, padding and dilation of max/min/avg pooling, checked.

    torch's documentation states each rule: kernel, stride and dilation are positive; padding
    "must be >= 0 and <= kernel_size / 2" (MaxPool2d, AvgPool2d). That bound is on kernel_size,
    not on the dilated span. `stride=None` (or an empty tuple) means `kernel_size`.
    Mathematics: positive kernel, stride and dilation (a window of at least one position, a step,
    a spacing), non-negative padding (a count of added positions). Torch-dialect restriction:
    padding <= kernel_size / 2 (windows of padding alone are well defined: -inf, or 0 / count).
    """
    kernel = per_axis(op_name, "kernel_size", kernel_size, spatial_dims)
    strides = kernel if stride is None or stride == () or stride == [] else per_axis(
        op_name, "stride", stride, spatial_dims
    )
    pads = per_axis(op_name, "padding", padding, spatial_dims)
    dilations = per_axis(op_name, "dilation", dilation, spatial_dims)
    for name, values in (("kernel_size", kernel), ("stride", strides), ("dilation", dilations)):
        if any(value <= 0 for value in values):
            raise ValueError(f"{op_name}: {name} must be greater than zero, but got {values}")
    if any(pad < 0 for pad in pads):
        raise ValueError(f"{op_name}: pad must be non-negative, but got pad: {pads}")
    if any(pad > k // 2 for pad, k in zip(pads, kernel)):
        raise ValueError(
            f"{op_name}: pad should be at most half of kernel size, "
            f"but got pad={pads} and kernel_size={kernel}"
        )
    return kernel, strides, pads, dilations


def check_divisor_override(op_name: str, divisor_override) -> None:
    """torch: "divisor must be not zero"; any other int, negative too, divides the window sum.

    Mathematics: a quotient needs a non-zero divisor. Torch-dialect restriction: an int
    (`Optional[int]` in the signature).
    """
    if divisor_override is None:
        return
    if isinstance(divisor_override, bool) or not isinstance(divisor_override, numbers.Integral):
        raise TypeError(f"{op_name}(): divisor_override must be an int or None")
    if divisor_override == 0:
        raise ValueError(f"{op_name}: divisor must be not zero")


def adaptive_output_size(op_name, spatial_dims, output_size, input_spatial) -> tuple[int, ...]:
    """Per-axis output size: `None` keeps the input's size; 0 is allowed and gives no output.

    torch (AdaptiveAvgPool2d/3d docs): output_size "can be either a int, or None which means the
    size will be the same as that of the input"; the 1-d modules document an int only, and
    torch's 1-d functions reject None. AdaptivePooling.h: "elements of output_size must be
    greater than or equal to 0".
    Mathematics: output_size counts windows, so >= 0. Torch-dialect restriction: None only in
    2-d and 3-d.
    """
    sizes = per_axis(op_name, "output_size", output_size, spatial_dims,
                     allow_none=spatial_dims > 1)
    sizes = tuple(size if size is not None else length for size, length in zip(sizes, input_spatial))
    if any(size < 0 for size in sizes):
        raise ValueError(
            f"{op_name}: elements of output_size must be greater than or equal to 0 "
            f"but received {sizes}"
        )
    return sizes


def check_windows_exist(op_name, input_spatial, window_counts) -> None:
    """torch: "Given input size: (...). Calculated output size: (...). Output size is too small".

    Torch-dialect restriction (`pooling_output_shape`'s check, Pool.h): zero windows would be an
    empty output, as adaptive pooling's output_size 0 is.
    """
    if any(count == 0 for count in window_counts):
        raise ValueError(
            f"{op_name}: Given input size: {tuple(input_spatial)}. "
            f"Calculated output size: {tuple(window_counts)}. Output size is too small"
        )
