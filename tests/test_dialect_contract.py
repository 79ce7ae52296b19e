"""The backend side of dialects: the default, a declared dialect, an unknown one."""

import numpy as np
import pytest

from conformance.engine.cases import Case
from conformance.engine.checks import compare, observe
from conformance.engine.dialects import dialects_of


class Torchish:
    pass


class OnnxOnly:
    dialects = ("onnx",)

    def MaxPool(self, x, kernel_shape, **attributes):  # a deliberately wrong pool: x[..., ::k]
        return np.ascontiguousarray(x[..., ::kernel_shape[0]])


def test_a_backend_without_the_attribute_speaks_torch():
    assert dialects_of(Torchish()) == ("torch",)
    assert dialects_of(OnnxOnly()) == ("onnx",)
    with pytest.raises(ValueError, match="unknown dialects"):
        dialects_of(type("B", (), {"dialects": ("caffe",)})())


def test_a_dialect_case_is_judged_by_the_dialects_oracle():
    # [1, 5, 2, 4] with kernel 2, stride 2: maxima 5 and 4; the backend returns x[::2] = 1, 2.
    case = Case("MaxPool", np.array([[[1, 5, 2, 4]]], np.float32),
                {"kernel_shape": [2], "strides": [2]}, dialect="onnx")
    observation = observe(OnnxOnly(), case)
    assert compare(observation, "shape") is None
    mismatch = compare(observation, "values")
    assert "out[0, 0, 0]" in mismatch.message and "onnx MaxPool" in mismatch.message
    assert "(5.0), got np.float32(1.0)" in mismatch.message
    assert "dialect='onnx'" in repr(case)
