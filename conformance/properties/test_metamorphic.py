"""Metamorphic relations: identities between ops that hold for any input, checked on the backend
alone. They catch bugs an oracle comparison explains less directly, and they test the oracle too
when run with --backend reference."""

import numpy as np
import pytest
from hypothesis import given, reject, strategies as st

from conformance.engine.cases import Case
from conformance.engine.checks import value_tolerance
from conformance.engine.dialects import index_count
from conformance.engine.strategies import (
    MAX_LENGTH, WIDE_FLOAT_DTYPES, cases, dtypes, input_arrays, leading_shapes,
)
from conformance.engine.tolerance import mismatched_elements

DIMS = [1, 2, 3]


def assert_related(relation: str, case: Case, left, right, tolerance_case: Case = None):
    """`left` and `right` must agree as values of `tolerance_case` (default `case`) must agree
    with the oracle, with twice the tolerance since both sides carry rounding; indices exactly,
    except that two indices naming no element agree (the definition gives a window without
    input element none: conformance.engine.checks accepts any index outside the plane)."""
    pairs = zip(left, right) if isinstance(left, tuple) else [(left, right)]
    for part, (a, b) in enumerate(pairs):
        assert a.shape == b.shape, f"{relation}: shapes {a.shape} and {b.shape}; case: {case.describe()}"
        if part:
            plane = index_count(tolerance_case or case)
            nowhere = ((a < 0) | (a >= plane)) & ((b < 0) | (b >= plane))
            differs = (a != b) & ~nowhere
        else:
            bound = value_tolerance(tolerance_case or case, a)
            differs = mismatched_elements(a, b, None if bound is None else 2 * bound)
        if differs.any():
            first = tuple(int(i) for i in np.argwhere(differs)[0])
            raise AssertionError(
                f"{relation} does not hold at out{list(first)} "
                f"({'indices' if part else 'values'}): {a[first]!r} vs {b[first]!r} "
                f"({int(differs.sum())} of {differs.size} elements); case: {case.describe()}"
            )


@pytest.mark.parametrize("n", DIMS)
def test_min_pool_is_negated_max_pool_of_negated_input(conformance, n):
    conformance.require(f"min_pool{n}d")
    conformance.require(f"max_pool{n}d")

    @given(case=cases(f"min_pool{n}d", dtype_strategy=dtypes(allow_integers=False)))
    def relation_holds(case):
        minimum = conformance.call(case.op_name, case.input, **case.kwargs)
        negated = conformance.call(f"max_pool{n}d", -case.input, **case.kwargs)
        negated = (-negated[0], negated[1]) if isinstance(negated, tuple) else -negated
        assert_related("min_pool(x) == -max_pool(-x)", case, minimum, negated)

    relation_holds()


@st.composite
def dividing_adaptive_cases(draw, family: str, n: int):
    """Adaptive cases whose output size divides the input: windows of m = L / O, no overlap."""
    outputs = [draw(st.integers(1, 3)) for _ in range(n)]
    factors = [draw(st.integers(1, max(1, MAX_LENGTH[n] // o))) for o in outputs]
    shape = draw(leading_shapes()) + tuple(o * m for o, m in zip(outputs, factors))
    dtype = draw(dtypes(allow_integers=False))
    return Case(f"{family}{n}d", draw(input_arrays(shape, dtype)), {"output_size": tuple(outputs)}), factors


@pytest.mark.parametrize("n", DIMS)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_with_dividing_output_is_strided_pool(conformance, kind, n):
    adaptive, strided = f"adaptive_{kind}_pool{n}d", f"{kind}_pool{n}d"
    conformance.require(adaptive)
    conformance.require(strided)

    @given(drawn=dividing_adaptive_cases(f"adaptive_{kind}_pool", n))
    def relation_holds(drawn):
        case, factors = drawn
        left = conformance.call(adaptive, case.input, **case.kwargs)
        right = conformance.call(strided, case.input, kernel_size=tuple(factors),
                     stride=tuple(factors))
        assert_related(f"{adaptive}(x, O) == {strided}(x, L/O, L/O)", case, left, right)

    relation_holds()


@pytest.mark.parametrize("n", DIMS)
def test_global_average_is_adaptive_average_to_one_and_the_mean(conformance, n):
    conformance.require(f"global_avg_pool{n}d")
    conformance.require(f"adaptive_avg_pool{n}d")

    @given(case=cases(f"global_avg_pool{n}d", dtype_strategy=WIDE_FLOAT_DTYPES))
    def relation_holds(case):
        global_average = conformance.call(case.op_name, case.input)
        adaptive = conformance.call(f"adaptive_avg_pool{n}d", case.input, output_size=1)
        wide = case.input.astype(np.float64)
        mean = wide.mean(axis=tuple(range(-n, 0)), keepdims=True)
        if np.isfinite(wide).all() and not np.isfinite(mean).all():
            # float64's own sum overflowed: this side has no mean to relate to. test_values
            # judges such averages against the oracle's exact sum.
            reject()
        assert_related("global_avg_pool(x) == adaptive_avg_pool(x, 1)", case, global_average, adaptive)
        assert_related("global_avg_pool(x) == mean over spatial dims", case, global_average,
                       mean.astype(case.input.dtype))

    relation_holds()


@pytest.mark.parametrize("n", DIMS)
@pytest.mark.parametrize("family", ["max_pool", "min_pool", "avg_pool"])
def test_unit_kernel_and_stride_is_identity(conformance, family, n):
    op_name = f"{family}{n}d"
    conformance.require(op_name)

    @given(case=cases(op_name))
    def relation_holds(case):
        out = conformance.call(op_name, case.input, kernel_size=1, stride=1)
        assert out.dtype == case.input.dtype, f"{op_name}(x, 1, 1) changed the dtype to {out.dtype}"
        unit = Case(op_name, case.input, {"kernel_size": 1})
        assert_related(f"{op_name}(x, 1, 1) == x", case, out, case.input, unit)

    relation_holds()


@pytest.mark.parametrize("n", DIMS)
def test_count_include_pad_changes_only_the_divisor(conformance, n):
    """avg(x, include) == avg(x, exclude) * avg(ones, include): the ratio of the two divisors."""
    op_name = f"avg_pool{n}d"
    conformance.require(op_name)

    @given(case=cases(op_name, dtype_strategy=WIDE_FLOAT_DTYPES))
    def relation_holds(case):
        kwargs = {k: v for k, v in case.kwargs.items() if k not in ("count_include_pad", "divisor_override")}
        including = conformance.call(op_name, case.input, count_include_pad=True, **kwargs)
        excluding = conformance.call(op_name, case.input, count_include_pad=False, **kwargs)
        ratio = conformance.call(op_name, np.ones_like(case.input), count_include_pad=True, **kwargs)
        tolerance_case = Case(op_name, case.input, {**kwargs, "count_include_pad": True})
        assert_related("avg(x, count_include_pad=True) == avg(x, False) * divisor ratio", case,
                       including, (excluding.astype(np.float64) * ratio).astype(case.input.dtype),
                       tolerance_case)

    relation_holds()


@pytest.mark.parametrize("op_name", [f"{family}{n}d" for family in
                                     ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                                      "global_avg_pool") for n in DIMS])
def test_unbatched_input_equals_batch_of_one(conformance, op_name):
    conformance.require(op_name)

    unbatched_cases = cases(op_name).filter(lambda c: c.input.ndim == c.op.spatial_dims + 1)

    @given(case=unbatched_cases)
    def relation_holds(case):
        unbatched = conformance.call(op_name, case.input, **case.kwargs)
        batched = conformance.call(op_name, case.input[None], **case.kwargs)
        first = tuple(part[0] for part in batched) if isinstance(batched, tuple) else batched[0]
        assert_related(f"{op_name}(x) == {op_name}(x[None])[0]", case, unbatched, first)

    relation_holds()


# Per-axis arguments, and what the singleton axis gets: a kernel of 1, no padding, output size 1
# (or None: keep its size); its stride and dilation are free, a kernel of 1 makes them moot.
PER_AXIS = ("kernel_size", "stride", "padding", "dilation", "output_size")
SINGLETON_AXIS = {"kernel_size": st.just(1), "padding": st.just(0),
                  "stride": st.sampled_from([1, 2]), "dilation": st.sampled_from([1, 2]),
                  "output_size": st.sampled_from([1, None])}
LOWER_RANK_FAMILIES = ["max_pool", "min_pool", "avg_pool", "adaptive_avg_pool",
                       "adaptive_max_pool", "global_avg_pool"]


@st.composite
def cases_with_a_singleton_axis(draw, family: str, n: int):
    """(case of the n-d op, its (n+1)-d kwargs, where the singleton axis goes among the spatial
    axes): every per-axis argument with the singleton axis's entry inserted there, the rest
    (ceil_mode, count_include_pad, divisor_override, indices, omitted defaults) unchanged."""
    case = draw(cases(f"{family}{n}d", return_indices=True))
    axis = draw(st.integers(0, n))
    kwargs = {}
    for name, value in case.kwargs.items():
        if name in PER_AXIS and value is not None:
            entries = list(value) if isinstance(value, (tuple, list)) else [value] * n
            entries.insert(axis, draw(SINGLETON_AXIS[name]))
            value = tuple(entries)
        kwargs[name] = value
    return case, kwargs, axis


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("family", LOWER_RANK_FAMILIES)
def test_lower_rank_pool_is_higher_rank_pool_on_a_singleton_axis(conformance, family, n):
    """op_nd(x) == op_(n+1)d(x with a size-1 spatial axis, kernel 1 and no padding there),
    squeezed: values and indices (a size-1 axis leaves flat indices unchanged). A backend that
    routes one rank through another's kernel with the wrong per-axis arguments fails it."""
    lower, higher = f"{family}{n}d", f"{family}{n + 1}d"
    conformance.require(lower)
    conformance.require(higher)

    @given(drawn=cases_with_a_singleton_axis(family, n))
    def relation_holds(drawn):
        case, kwargs, axis = drawn
        position = case.input.ndim - n + axis
        left = conformance.call(lower, case.input, **case.kwargs)
        right = conformance.call(higher, np.expand_dims(case.input, position), **kwargs)
        for part in right if isinstance(right, tuple) else (right,):
            assert part.ndim > position and part.shape[position] == 1, (
                f"{higher} on a singleton axis {axis} gave shape {part.shape}; case: "
                f"{case.describe()}, {higher} kwargs {kwargs}")
        squeezed = (tuple(part.squeeze(position) for part in right) if isinstance(right, tuple)
                    else right.squeeze(position))
        assert_related(f"{lower}(x) == {higher}(x with a singleton axis {axis}, {kwargs})",
                       case, left, squeezed)

    relation_holds()
