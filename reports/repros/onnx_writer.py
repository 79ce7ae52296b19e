"""Repros in ONNX's own terms: the backend's single-op graph written out node by node with
`onnx.helper` (built at generation time by the adapter's own builder, so the script holds
exactly the graph the suite ran), then run with ONNX Runtime or `onnx.reference`."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import reference
from conformance.backends.onnx_models import build_model
from reports.repros.problem import Problem, batched
from reports.repros.literals import numpy_tensor
from reports.repros.script import Writer, numpy_assert_close

_RUNTIMES = {
    "onnxruntime": ("import onnxruntime", [
        "session = onnxruntime.InferenceSession(model.SerializeToString(), "
        "providers=['CPUExecutionProvider'])",
        "outputs = session.run(None, {'x': x})"]),
    "onnx-reference": ("from onnx.reference import ReferenceEvaluator", [
        "outputs = ReferenceEvaluator(model).run(None, {'x': x})"]),
}


@dataclass
class OnnxWriter(Writer):
    runtime: str = "onnxruntime"

    def __post_init__(self):
        self.framework = self.runtime
        self.needs = f"onnx, {'onnxruntime, ' if self.runtime == 'onnxruntime' else ''}numpy"
        self.imports = ("import ml_dtypes  # onnx's own dependency, for bfloat16",
                        "import numpy as np", "from onnx import TensorProto, helper, numpy_helper",
                        _RUNTIMES[self.runtime][0])

    def prepare(self, problem: Problem) -> Problem:
        return batched(problem)

    tensor = staticmethod(numpy_tensor)
    assert_close = staticmethod(numpy_assert_close)

    def forward(self, problem: Problem) -> list[str]:
        case = problem.case
        bound = inspect.signature(getattr(reference, case.op_name)).bind(None, **case.kwargs)
        bound.apply_defaults()
        arguments = {k: v for k, v in bound.arguments.items() if k != "input"}
        model = build_model(case.op.family, case.op.spatial_dims, case.input.dtype,
                            case.input.shape, arguments)
        lines = _graph_lines(model) + _RUNTIMES[self.runtime][1]
        if len(model.graph.output) == 2:
            plane = problem.plane_size
            planes = int(np.prod(case.input.shape[:2]))
            lines += ["actual, indices = outputs",
                      f"# ONNX's indices count over the whole tensor: subtract each (n, c) "
                      f"plane's start ({plane} elements a plane)",
                      f"indices = indices - (np.arange({planes}) * {plane}).reshape("
                      f"{case.input.shape[:2] + (1,) * case.op.spatial_dims})"]
        else:
            lines += ["actual = outputs[0]"]
        return lines


def _attribute(attribute) -> str:
    value = helper.get_attribute_value(attribute)
    return repr(value.decode() if isinstance(value, bytes) else value)


def _graph_lines(model) -> list[str]:
    graph = model.graph
    type_name = TensorProto.DataType.Name
    lines = ["nodes = ["]
    for node in graph.node:
        attributes = "".join(f", {a.name}={_attribute(a)}" for a in node.attribute)
        lines.append(f"    helper.make_node({node.op_type!r}, {list(node.input)!r}, "
                     f"{list(node.output)!r}{attributes}),")
    lines.append("]")
    constants = [f"    numpy_helper.from_array({numpy_tensor(numpy_helper.to_array(c))}, {c.name!r}),"
                 for c in graph.initializer]
    lines += ["constants = [", *constants, "]"] if constants else ["constants = []"]
    x = graph.input[0].type.tensor_type
    dims = [d.dim_param or d.dim_value for d in x.shape.dim]
    outputs = ", ".join(
        f"helper.make_tensor_value_info({o.name!r}, TensorProto.{type_name(o.type.tensor_type.elem_type)}, None)"
        for o in graph.output)
    lines += [
        f"x_info = helper.make_tensor_value_info('x', TensorProto.{type_name(x.elem_type)}, {dims!r})",
        f"graph = helper.make_graph(nodes, 'pool', [x_info], [{outputs}], constants)",
        f"model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', "
        f"{model.opset_import[0].version})])",
        f"model.ir_version = {model.ir_version}",
    ]
    return lines


WRITERS = {name: OnnxWriter(runtime=name) for name in _RUNTIMES}
