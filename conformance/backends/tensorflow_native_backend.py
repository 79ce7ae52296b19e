"""TensorFlow in its own dialect (`tensorflow-native`): `tf.nn.max_pool`, `tf.nn.avg_pool` and
`tf.nn.pool` called eagerly on the CPU with the case's arguments unchanged (reference.dialects.tf
states their meaning): `ksize`/`strides` as an int or 1, N or N + 2 entries, padding "SAME",
"VALID" (or, for max_pool, explicit pairs), `data_format` channels last or first, tf.nn.pool's
`window_shape`, `pooling_type` and `dilations`.

Unsupported, each as TF itself says it: a dtype with no CPU kernel (NotFoundError) or outside
the op's type list ("Value for attr 'T'"), and a layout the CPU kernels do not implement
("only supports NHWC on device type CPU": TF's CPU pooling kernels are channels-last; the
channels-first ones are GPU kernels). Any other error is TF rejecting the arguments. TF runs
single-threaded (set before its first op; a process that already ran TF keeps its pools).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:
    pass  # TF already ran an op in this process; its thread pools can no longer change

CPU_LAYOUT_MESSAGES = ("only supports NHWC on device type CPU",
                       "only supports NDHWC on device type CPU")


def _numpy(tensor) -> np.ndarray:
    result = tensor.numpy()
    if tensor.dtype == tf.bfloat16 and result.dtype != ml_dtypes.bfloat16:
        result = result.view(ml_dtypes.bfloat16)
    return np.require(result, requirements=["C", "W", "O"])


def _run(op_name, x, function, **kwargs):
    try:
        with tf.device("/CPU:0"):
            return _numpy(function(tf.constant(x), **kwargs))
    except tf.errors.NotFoundError as error:  # the op allows the dtype; no CPU kernel has it
        raise NotImplementedError(f"{op_name}: TensorFlow has no CPU kernel for "
                                  f"{x.dtype.name}") from error
    except tf.errors.InvalidArgumentError as error:
        if "Value for attr 'T'" in str(error):
            raise NotImplementedError(f"{op_name}: TensorFlow's op excludes {x.dtype.name}") \
                from error
        if any(message in str(error) for message in CPU_LAYOUT_MESSAGES):
            raise NotImplementedError(f"{op_name}: {str(error).splitlines()[0]}") from error
        raise
    except tf.errors.UnimplementedError as error:
        raise NotImplementedError(f"{op_name}: {str(error).splitlines()[0]}") from error


class TensorFlowNative:
    name = "tensorflow-native"
    version = tf.__version__
    dialects = ("tf",)

    def max_pool(self, input, **kwargs):
        return _run("tf.nn.max_pool", input, tf.nn.max_pool, **kwargs)

    def avg_pool(self, input, **kwargs):
        return _run("tf.nn.avg_pool", input, tf.nn.avg_pool, **kwargs)

    def pool(self, input, **kwargs):
        return _run("tf.nn.pool", input, tf.nn.pool, **kwargs)


def tensorflow_native() -> TensorFlowNative:
    return TensorFlowNative()
