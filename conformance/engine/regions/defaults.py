"""Parameters left to the backend's default: omitted from the call, or passed as None.

A backend's own default is a code path of its own (a default spelled differently from torch's,
stride=None read as 1): the coverage table counts, per optional parameter, the cases that left
it to the backend, so a run that never did says so.
"""

from __future__ import annotations

from conformance.engine.cases import Case

OPTIONAL_PARAMETERS = ("stride", "padding", "dilation", "ceil_mode", "count_include_pad",
                       "divisor_override", "return_indices")

DEFAULT_REGIONS = {
    **{f"default_{name}": f"{name} omitted: the backend's own default"
       for name in OPTIONAL_PARAMETERS},
    "stride_none": "stride=None (the kernel size, as documented)",
}
_SLIDING = ("max_pool", "min_pool", "avg_pool")
# The families that have each parameter (catalogue.REGION_FAMILIES).
DEFAULT_REGION_FAMILIES = {
    **dict.fromkeys(("default_stride", "default_padding", "default_ceil_mode", "stride_none"),
                    _SLIDING),
    "default_dilation": ("max_pool", "min_pool"),
    "default_count_include_pad": ("avg_pool",),
    "default_divisor_override": ("avg_pool",),
    "default_return_indices": ("max_pool", "min_pool", "adaptive_max_pool"),
}


def default_features(case: Case) -> dict:
    features = {f"default_{name}": name in case.op.parameters and name not in case.kwargs
                for name in OPTIONAL_PARAMETERS}
    features["stride_none"] = "stride" in case.kwargs and case.kwargs["stride"] is None
    return features
