"""The course notebook's examples and claims that involve a library, checked on the backend."""

import numpy as np

from conformance.claims.notebook import avg_has_no_dilation_claim, global_average_claim


def test_notebook_example_maxpool2d_2x2_on_1x4x4(conformance):
    conformance.require("max_pool2d")
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    out = conformance.backend.max_pool2d(x, kernel_size=2, stride=2)
    # By hand: the maxima of the four 2x2 blocks of [[0..3], [4..7], [8..11], [12..15]].
    assert out.shape == (1, 2, 2)
    assert out.tolist() == [[[5.0, 7.0], [13.0, 15.0]]]


def test_global_average_is_adaptive_average_to_one_by_one(conformance):
    conformance.require("adaptive_avg_pool2d")
    result = global_average_claim(conformance.backend)
    assert result.verdict == "TRUE", result.evidence


def test_average_pooling_takes_no_dilation(conformance):
    conformance.require("avg_pool2d")
    result = avg_has_no_dilation_claim(conformance.backend)
    assert result.verdict == "TRUE", result.evidence
