"""SAME padding, the one padding rule ONNX and TF/Keras share, written once.

- TF (https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2): "output_shape =
  ceil(input_shape / strides)", "pad_along = max((out - 1) * stride + filter - in, 0)",
  pad_before = pad_along // 2 and the rest after: the extra element goes at the end. With
  dilations (tf.nn.pool) the filter is the dilated one, (filter - 1) * dilation + 1.
- ONNX (MaxPool's auto_pad): SAME_UPPER puts the odd element at the end (TF's rule),
  SAME_LOWER at the beginning; pad_shape uses the dilated kernel.
- Keras' padding="same" is TF's (keras/src/ops/operation_utils.py,
  compute_pooling_output_shape, and the TF ops it lowers to).
"""

from __future__ import annotations


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1,
                 extra_at_end: bool = True) -> tuple[int, int]:
    """(before, after) padding of one axis such that there are ceil(length / stride) windows."""
    output = -(-length // stride)
    total = max(0, (output - 1) * stride + (kernel - 1) * dilation + 1 - length)
    small, large = total // 2, total - total // 2
    return (small, large) if extra_at_end else (large, small)
