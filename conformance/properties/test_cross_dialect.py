"""Cross-dialect relations: one computation written two ways, in two dialects or two spellings
of one, must give one result. Each relation is checked on the oracle (the dialects'
translations, reference.dialects, must agree with each other) and on the backend wherever it
speaks every dialect the relation uses (cases inside a registered deviation are left out, as in
test_metamorphic.py).

- SAME padding is its explicit pads: ONNX auto_pad SAME_UPPER/SAME_LOWER vs NOTSET with the
  pads SAME comes to.
- ONNX NOTSET with symmetric pads (at most half the kernel) is torch's pooling with that padding.
- TF's SAME/VALID is ONNX's SAME_UPPER/VALID (count_include_pad=0) on the channels-first input.
- A channels-last call is the channels-first call on the transposed input (TF, Keras).
- SAME_LOWER is SAME_UPPER mirrored: with stride 1, pooling x is flipping the pooling of the
  flipped x.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, reject

from conformance.engine.arrays import from_reference, to_reference
from conformance.engine.cases import Case
from conformance.engine.dialects import case_plan, dialects_of, oracle_result
from conformance.engine.regions import case_features
from conformance.engine.strategies.dialects import dialect_cases
from conformance.properties.test_metamorphic import assert_related
from reference.dialects import onnx, tf
from reference.dialects.padding import same_padding
from reference.dialects.plan import channels_first_axes, channels_last_axes

SLIDING_ONNX = ("MaxPool", "AveragePool", "LpPool")


def _values(result):
    return result[0] if isinstance(result, tuple) else result


def oracle(case: Case) -> np.ndarray:
    return from_reference(_values(oracle_result(case, to_reference(case.input))))


def backend_values(conformance, case: Case):
    """The backend's values for `case`, or a rejected example where it cannot run the case or
    a registered deviation covers it."""
    if any(d.matches(case_features(case)) for d in conformance.registry.deviations):
        reject()
    try:
        return _values(getattr(conformance.backend, case.op_name)(case.input.copy(),
                                                                   **case.kwargs))
    except Exception:  # raising is test_dialects.py's to judge; a relation needs two results
        reject()


def check_relation(conformance, relation: str, left: Case, right: Case, right_to_left) -> None:
    """left's result == right_to_left(right's result), on the oracle and, where the backend
    speaks both dialects, on the backend."""
    assert_related(f"{relation} (oracle)", left, oracle(left), right_to_left(oracle(right)))
    spoken = dialects_of(conformance.backend)
    if left.dialect in spoken and right.dialect in spoken and all(
            getattr(conformance.backend, c.op_name, None) is not None for c in (left, right)):
        assert_related(relation, left, backend_values(conformance, left),
                       right_to_left(backend_values(conformance, right)))


def require_any(conformance, *needed: str) -> None:
    """Run a relation for a backend that speaks one of its dialects (its oracle side is
    checked then too, and by tests/test_dialect_relations.py); skip it for others."""
    if not set(needed) & set(dialects_of(conformance.backend)):
        pytest.skip(f"{conformance.backend_name} speaks none of {', '.join(needed)}")


def _identity(values):
    return values


def _onnx_explicit(case: Case) -> Case:
    dims = case.input.ndim - 2
    kwargs = dict(case.kwargs)
    auto_pad = kwargs.pop("auto_pad")
    strides = kwargs.get("strides") or [1] * dims
    dilations = kwargs.get("dilations") or [1] * dims
    pads = [same_padding(length, k, s, d, auto_pad == "SAME_UPPER")
            for length, k, s, d in zip(case.input.shape[2:], kwargs["kernel_shape"], strides,
                                       dilations)]
    kwargs["pads"] = [p[0] for p in pads] + [p[1] for p in pads]
    kwargs.pop("ceil_mode", None)  # SAME ignores it; explicit pads would not
    return dataclasses.replace(case, kwargs=kwargs)


@pytest.mark.parametrize("op", SLIDING_ONNX)
def test_same_padding_is_its_explicit_pads(conformance, op):
    require_any(conformance, "onnx")
    @given(case=dialect_cases("onnx", op))
    def relation_holds(case):
        assume(case.kwargs.get("auto_pad", "NOTSET").startswith("SAME"))
        check_relation(conformance, "auto_pad SAME_* == its explicit pads", case,
                       _onnx_explicit(case), _identity)

    relation_holds()


TORCH_FAMILY = {"MaxPool": "max_pool", "AveragePool": "avg_pool"}


def _as_torch(case: Case) -> Case:
    dims = case.input.ndim - 2
    kwargs = case.kwargs
    pads = kwargs.get("pads") or [0] * (2 * dims)
    torch_kwargs = {"kernel_size": tuple(kwargs["kernel_shape"]),
                    "stride": tuple(kwargs.get("strides") or [1] * dims),
                    "padding": tuple(pads[:dims]),
                    "ceil_mode": bool(kwargs.get("ceil_mode", 0))}
    if case.op_name == "MaxPool":
        torch_kwargs["dilation"] = tuple(kwargs.get("dilations") or [1] * dims)
    else:
        torch_kwargs["count_include_pad"] = bool(kwargs.get("count_include_pad", 0))
    return Case(f"{TORCH_FAMILY[case.op_name]}{dims}d", case.input, torch_kwargs)


@pytest.mark.parametrize("op", TORCH_FAMILY)
def test_onnx_notset_pads_are_torch_padding(conformance, op):
    require_any(conformance, "onnx")
    @given(case=dialect_cases("onnx", op))
    def relation_holds(case):
        dims = case.input.ndim - 2
        pads = case.kwargs.get("pads") or [0] * (2 * dims)
        assume(case.kwargs.get("auto_pad", "NOTSET") == "NOTSET")
        assume(pads[:dims] == pads[dims:])
        assume(all(p <= k // 2 for p, k in zip(pads, case.kwargs["kernel_shape"])))
        assume(op == "MaxPool" or all(d == 1 for d in case.kwargs.get("dilations") or [1]))
        check_relation(conformance, "ONNX NOTSET pads == torch padding", case, _as_torch(case),
                       _identity)

    relation_holds()


def _tf_as_onnx(case: Case) -> Case:
    """tf.nn.max_pool / avg_pool / pool as the ONNX node on the channels-first input."""
    plan_last = case.kwargs.get("data_format") in (None, *tf.CHANNELS_LAST.values())
    x = case.input
    if plan_last:
        x = np.ascontiguousarray(np.transpose(x, channels_first_axes(x.ndim)))
    dims = x.ndim - 2
    plan = case_plan(case)
    average = plan.reduction == "average"
    kwargs = {"kernel_shape": [g.kernel for g in plan.geometry],
              "strides": [g.stride for g in plan.geometry],
              "auto_pad": "SAME_UPPER" if case.kwargs["padding"] == "SAME" else "VALID",
              "opset": max(onnx.VERSIONS["AveragePool" if average else "MaxPool"])}
    if any(g.dilation > 1 for g in plan.geometry):
        kwargs["dilations"] = [g.dilation for g in plan.geometry]
    assert dims == len(kwargs["kernel_shape"])
    return Case("AveragePool" if average else "MaxPool", x, kwargs, dialect="onnx")


@pytest.mark.parametrize("op", tuple(tf.OPS))
def test_tf_same_and_valid_are_onnx_same_upper_and_valid(conformance, op):
    require_any(conformance, "tf")
    @given(case=dialect_cases("tf", op))
    def relation_holds(case):
        last = case.kwargs.get("data_format") in (None, *tf.CHANNELS_LAST.values())
        ndim = case.input.ndim

        def back(values):
            return np.transpose(values, channels_last_axes(ndim)) if last else values

        check_relation(conformance, "TF padding == ONNX SAME_UPPER/VALID", case,
                       _tf_as_onnx(case), back)

    relation_holds()


FORMATS = {"tf": (tf.CHANNELS_LAST, tf.CHANNELS_FIRST),
           "keras": ({n: "channels_last" for n in (1, 2, 3)},
                     {n: "channels_first" for n in (1, 2, 3)})}
LAYOUT_OPS = [("tf", op) for op in tf.OPS] + [
    ("keras", name) for name in ("MaxPooling2D", "AveragePooling1D", "AveragePooling3D",
                                 "GlobalMaxPooling2D")]


@pytest.mark.parametrize("dialect, op", LAYOUT_OPS)
def test_channels_last_is_channels_first_transposed(conformance, dialect, op):
    require_any(conformance, dialect)
    last_names, first_names = FORMATS[dialect]

    @given(case=dialect_cases(dialect, op))
    def relation_holds(case):
        ndim = case.input.ndim
        dims = ndim - 2
        assume(case.kwargs.get("data_format") in (None, last_names[dims]))
        assume(dialect != "keras" or not op.startswith("Global")
               or case.kwargs.get("keepdims", False))
        first = dataclasses.replace(
            case, input=np.ascontiguousarray(np.transpose(case.input, channels_first_axes(ndim))),
            kwargs={**_first_spelling(case, dims, dialect), "data_format": first_names[dims]})
        check_relation(conformance, "channels_last == channels_first transposed", case, first,
                       lambda values: np.transpose(values, channels_last_axes(ndim)))

    relation_holds()


def _first_spelling(case: Case, dims: int, dialect: str) -> dict:
    """The case's arguments for channels first: tf.nn's N + 2 entry ksize/strides move their
    channel 1 from the end to the front."""
    kwargs = dict(case.kwargs)
    for name in ("ksize", "strides"):
        value = kwargs.get(name)
        if dialect == "tf" and isinstance(value, list) and len(value) == dims + 2:
            kwargs[name] = [1, 1, *value[1:-1]]
    return kwargs


@pytest.mark.parametrize("op", SLIDING_ONNX)
def test_same_lower_is_same_upper_mirrored(conformance, op):
    require_any(conformance, "onnx")
    @given(case=dialect_cases("onnx", op))
    def relation_holds(case):
        assume(case.kwargs.get("auto_pad") == "SAME_LOWER")
        assume(all(s == 1 for s in case.kwargs.get("strides") or [1]))
        spatial = tuple(range(2, case.input.ndim))
        upper = dataclasses.replace(
            case, input=np.ascontiguousarray(np.flip(case.input, spatial)),
            kwargs={**case.kwargs, "auto_pad": "SAME_UPPER", "return_indices": False}
            if op == "MaxPool" else {**case.kwargs, "auto_pad": "SAME_UPPER"})
        lower = dataclasses.replace(case, kwargs={**upper.kwargs, "auto_pad": "SAME_LOWER"})
        check_relation(conformance, "SAME_LOWER(x) == flip(SAME_UPPER(flip(x)))", lower, upper,
                       lambda values: np.ascontiguousarray(np.flip(values, spatial)))

    relation_holds()
