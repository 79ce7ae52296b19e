"""The regions: named facts about a case, each with what it means.

Deviation signatures match on them (conformance.engine.deviations) and the report's coverage table
counts them; conformance.engine.regions.features decides, case by case, which hold.
"""

from __future__ import annotations

from conformance.engine.regions.defaults import DEFAULT_REGION_FAMILIES, DEFAULT_REGIONS

# Windows of this many positions and more: kernels whose products reach past the small windows
# most draws have (vectorised kernels switch loops and accumulate in blocks there).
LARGE_WINDOW = 25

# Listed in the report's coverage table in this order.
REGIONS = {
    "ceil_overhang": "a window runs past the padded input (ceil mode)",
    "dropped_last_window": "ceil mode's extra window starts in the right padding and is dropped",
    "window_without_input": "a window holds no input element (all padding, with dilation)",
    "mostly_padding_window": "a window holds more padding or overhang than input",
    "padding": "padding > 0 on some axis",
    "dilation": "dilation > 1 on some axis",
    "stride_gt_kernel": "stride > kernel on some axis (gaps between windows)",
    "input_shorter_than_kernel": "the unpadded input is shorter than the kernel on some axis",
    "adaptive_nondividing": "adaptive output size does not divide the input on some axis",
    "adaptive_output_larger": "adaptive output larger than the input on some axis",
    "adaptive_output_one": "adaptive output size 1 on every axis (a global pool)",
    "nan": "the input holds a NaN",
    "infinity": "the input holds an infinity",
    "negative_zero": "the input holds -0.0",
    "nan_in_window": "a window holds a NaN",
    "several_nan_in_window": "a window holds two or more NaNs",
    "tie_in_window": "a window's max (or min) is held by two or more elements",
    "window_sum_overflows": "the sum of |x| over a window exceeds the dtype's largest value",
    "no_full_window": "ceil mode, and no full window fits the padded input on some axis",
    "invalid_arguments": "the oracle rejects the arguments (invalid-argument properties)",
    "wrong_rank": "the input is neither (C, *spatial) nor (N, C, *spatial)",
    "rank_too_high": "the input has more dimensions than (N, C, *spatial)",
    "spatial_axes_only": "the input has only the spatial axes (no channel axis)",
    "empty_channels": "the channel dimension is 0",
    "empty_spatial": "a spatial dimension is 0",
    "unbatched": "the input has no batch dimension",
    "empty_batch": "the batch dimension is 0",
    "nan_not_first_in_window": "a window holds a NaN but does not start with one (window order)",
    "window_all_lowest": "a window's input elements are all the dtype's lowest value, -inf or "
                         "an integer dtype's minimum (the highest for min pooling)",
    "subnormal_result": "an output element is subnormal (a window's max, min or mean)",
    "subnormal_kernel_mean": "a window's sum divided by the kernel volume is subnormal",
    "span_exceeds_padded_input": "the dilated kernel is longer than the padded input on some axis",
    "span_exceeds_padded_input_by_stride":
        "the dilated kernel is longer than the padded input by a stride or more on some axis",
    "span_exceeds_padded_input_by_two_strides":
        "the dilated kernel is longer than the padded input by two strides or more on some axis",
    "kernel_covers_input":
        "kernel = input size, stride 1, no padding or dilation on every axis (one whole window)",
    "unit_stride_and_dilation": "stride 1 and dilation 1 on every axis",
    "window_all_nan": "a max (min) window's input elements are all NaN",
    "overhang_at_least_two": "a window runs two or more positions past the padded input",
    "constant_input": "every element of the input is the same number",
    "nan_beside_number_in_window": "a window holds both a NaN and a number (any op)",
    "nan_beside_non_nan_sum": "a window holds a NaN and numbers whose sum is not NaN",
    "uneven_padding": "the padding differs between spatial axes",
    "one_entry_window_tuple": "kernel_size, stride or dilation given as a one-entry tuple to a "
                              "2-d or 3-d op (torch repeats the entry on every axis)",
    "padding_above_half_kernel": "padding > kernel_size / 2 on some axis",
    "padding_at_least_kernel": "padding >= kernel_size on some axis",
    "negative_padding": "padding < 0 on some axis (invalid arguments)",
    "padding_crops_past_the_input": "negative padding leaves a negative length on some axis",
    "zero_divisor": "divisor_override = 0 (invalid arguments)",
    "non_integer_kernel": "kernel_size holds a float (invalid arguments)",
    "adaptive_output_zero": "adaptive output size 0 on some axis (an empty output)",
    "subnormal_decides_choice":
        "reading subnormal numbers as zero changes which element a max (min) window chooses",
    "window_sum_inexact_in_dtype":
        "a 16-bit float window's sum may round or overflow when accumulated in its dtype",
    "subnormal_gradient":
        "a gradient case's share of an upstream gradient, or an element of the gradient, is "
        "subnormal",
    "window_sum_rounds_in_dtype":
        "a 16-bit float window summed in its dtype, in window order, misses the tolerance",
    "large_window": f"a window spans {LARGE_WINDOW} or more positions (kernel volume, or an "
                    f"adaptive or global window's)",
    # Regions of the dialects' own parameters (reference.dialects; dialect.py decides them);
    # they stay last (DIALECT_REGIONS).
    "same_padding": "SAME padding (ONNX auto_pad SAME_UPPER/SAME_LOWER, TF/Keras same)",
    "same_lower": "ONNX auto_pad SAME_LOWER (the odd padding element before the input)",
    "valid_padding": "VALID padding (ONNX auto_pad VALID, TF/Keras valid)",
    "same_odd_total_padding": "SAME padding whose total is odd on some axis (ends differ)",
    "asymmetric_padding": "padding before and after the input differ on some axis",
    "auto_pad_with_ceil_mode": "ONNX auto_pad SAME or VALID together with ceil_mode=1",
    "dilation_with_same": "dilation > 1 with SAME padding",
    "column_major_indices": "ONNX MaxPool storage_order=1 (indices numbered column-major)",
    "channels_first": "a TF/Keras input laid out channels first (NCHW, channels_first)",
    "global_keepdims_false": "a Keras global pool without its spatial axes (keepdims=False)",
    "same_negative_padding":
        "SAME where the docs' pad formula is negative (stride > kernel; no padding at all)",
    "window_over_batch_or_channels":
        "a tf.nn ksize or strides of N + 2 entries that is not 1 on the batch or channel axis",
    "pads_with_auto_pad": "ONNX pads given together with auto_pad other than NOTSET",
    "data_format_of_another_rank":
        "a tf.nn data_format naming another rank's layout (NHWC for a 1-d input)",
    "same_length_not_multiple_of_stride":
        "SAME padding where some axis' length is not a multiple of its stride (the output "
        "size ceil(L / stride) is not L / stride)",
    "lp_power_sum_out_of_range":
        "an LpPool window whose sum of |x|^p rounds to 0 or overflows in the dtype, though its "
        "norm is finite and nonzero (a sum of powers taken as written loses it)",
}
REGIONS.update(DEFAULT_REGIONS)


_SLIDING = ("max_pool", "min_pool", "avg_pool")
_CHOOSING = ("max_pool", "min_pool", "adaptive_max_pool")
_AVERAGING = ("avg_pool", "adaptive_avg_pool", "global_avg_pool")
_ADAPTIVE = ("adaptive_avg_pool", "adaptive_max_pool")
_DILATED = ("max_pool", "min_pool")
# The families whose cases a region can hold (absent: every family), so that the coverage table
# can name the ops a run never drew in a region they have.
REGION_FAMILIES = {
    **{region: _SLIDING for region in (
        "ceil_overhang", "dropped_last_window", "mostly_padding_window", "padding",
        "stride_gt_kernel", "input_shorter_than_kernel", "no_full_window",
        "span_exceeds_padded_input", "span_exceeds_padded_input_by_stride",
        "span_exceeds_padded_input_by_two_strides", "kernel_covers_input",
        "unit_stride_and_dilation", "overhang_at_least_two", "uneven_padding",
        "one_entry_window_tuple",
        "padding_above_half_kernel", "padding_at_least_kernel")},
    **{region: _DILATED for region in ("dilation", "window_without_input")},
    **{region: _ADAPTIVE for region in (
        "adaptive_nondividing", "adaptive_output_larger", "adaptive_output_one",
        "adaptive_output_zero")},
    **{region: _CHOOSING for region in (
        "nan_in_window", "several_nan_in_window", "tie_in_window", "nan_not_first_in_window",
        "window_all_lowest", "subnormal_decides_choice", "window_all_nan")},
    **{region: _AVERAGING for region in (
        "window_sum_overflows", "subnormal_kernel_mean", "window_sum_inexact_in_dtype",
        "window_sum_rounds_in_dtype")},
    **DEFAULT_REGION_FAMILIES,
}


# Regions of dialect parameters, the catalogue's last block (from same_padding on): a backend
# holds cases in them only if it speaks that dialect, so a run's coverage gaps per op leave them
# out.
DIALECT_REGIONS = tuple(REGIONS)[tuple(REGIONS).index("same_padding"):]


def region_applies(region: str, family: str, spatial_dims: int) -> bool:
    """Whether an op of `family` in `spatial_dims` dims can have a case in `region` (of the
    torch dialect, which every backend speaks)."""
    if region in DIALECT_REGIONS or (
            region in ("uneven_padding", "one_entry_window_tuple") and spatial_dims == 1):
        return False
    return family in REGION_FAMILIES.get(region, (family,))
