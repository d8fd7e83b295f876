"""The few layers the face networks need beyond Keras' own, registered so ``model.keras`` loads in safe mode."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="celebvision_faces")
class ChannelNormalize(keras.layers.Layer):
    """``(x - means) * scale`` per channel: dlib's input layer for RGB 0..255 chips."""

    def __init__(self, means=(0.0, 0.0, 0.0), scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.means, self.scale = [float(m) for m in means], float(scale)

    def call(self, x):
        return (x - keras.ops.convert_to_tensor(self.means, dtype=x.dtype)) * self.scale

    def get_config(self):
        return {**super().get_config(), "means": self.means, "scale": self.scale}


@keras.saving.register_keras_serializable(package="celebvision_faces")
class TrailingPad(keras.layers.Layer):
    """Zero-pad at the end of rows, columns and channels (dlib's residual add of unequal shapes)."""

    def __init__(self, rows: int = 0, cols: int = 0, channels: int = 0, **kwargs):
        super().__init__(**kwargs)
        if min(rows, cols, channels) < 0:
            raise ValueError(
                f"Paddings must be >= 0. Received: rows={rows}, cols={cols}, channels={channels}"
            )
        self.rows, self.cols, self.channels = int(rows), int(cols), int(channels)

    def call(self, x):
        return keras.ops.pad(x, [[0, 0], [0, self.rows], [0, self.cols], [0, self.channels]])

    def compute_output_shape(self, shape):
        grow = lambda n, k: None if n is None else n + k  # noqa: E731
        return (
            shape[0],
            grow(shape[1], self.rows),
            grow(shape[2], self.cols),
            shape[3] + self.channels,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "rows": self.rows,
            "cols": self.cols,
            "channels": self.channels,
        }


@keras.saving.register_keras_serializable(package="celebvision_faces")
class SafeLog(keras.layers.Layer):
    """``log(max(x, eps))``: a probability turned into a log-probability a head can weigh."""

    def __init__(self, eps: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, x):
        return keras.ops.log(keras.ops.maximum(x, self.eps))

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}
