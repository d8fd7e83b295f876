"""Serve a trained classifier: load a model folder once, predict one image or a batch.

Preprocessing is ``ml.classify.data.prepare_image`` with the model's saved settings (the same face
detector, crop and resize as in training); normalisation is inside the model.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml.classify import data
from ml.classify.blocks import Normalize  # noqa: F401 - registers the custom layer for loading
from ml.common import modeldir
from ml.common.calibration import soften
from ml.common.prediction import Prediction

__all__ = ["Classifier", "Prediction"]

MODEL_FILE = "model.keras"


class Classifier:
    """A loaded classifier model folder."""

    def __init__(self, model, labels: list[str], preprocessing: dict, meta: dict | None = None):
        if len(labels) < 2:
            raise ValueError(f"A classifier needs at least 2 labels. Received: labels={labels}")
        self.model, self.labels = model, list(labels)
        self.preprocessing = {**data.PREPROCESSING_DEFAULTS, **preprocessing}
        self.meta = meta or {}
        self._forward = None

    @classmethod
    def load(cls, model_dir) -> Classifier:
        """Load ``model_dir`` (meta.json + model.keras) written by ``ml.train``."""
        meta = modeldir.read_meta(model_dir, kind="classifier")
        path = Path(model_dir) / MODEL_FILE
        if not path.is_file():
            raise modeldir.ModelDirError(f"{model_dir} has no {MODEL_FILE}")
        model = keras.saving.load_model(path, compile=False)
        return cls(model, meta["labels"], meta.get("preprocessing", {}), meta)

    @property
    def config(self) -> dict:
        """The training config saved with the model."""
        return self.meta.get("config", {})

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on a float32 batch through one compiled tf.function."""
        if self._forward is None:
            spec = tf.TensorSpec((None, *self.model.input_shape[1:]), tf.float32)
            self._forward = tf.function(
                lambda x: self.model(x, training=False), input_signature=[spec]
            )
        return np.asarray(self._forward(batch), dtype=np.float64)

    def _prediction(self, probs: np.ndarray, box) -> Prediction:
        """Build a Prediction from one probability row."""
        best = int(np.argmax(probs))
        return Prediction(
            label=self.labels[best],
            probability=float(probs[best]),
            probabilities={name: float(p) for name, p in zip(self.labels, probs)},
            face_box=None if box is None else tuple(int(v) for v in box),
        )

    def prepare(self, image) -> tuple[np.ndarray, tuple | None]:
        """Return the model input (uint8, resized, face-cropped) and the face box for one image."""
        return data.prepare_image(image, self.preprocessing)

    def predict(self, image) -> Prediction:
        """Classify one RGB uint8 image (H, W, 3)."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images) -> list[Prediction]:
        """Classify a list of RGB uint8 images."""
        if len(images) == 0:
            return []
        prepared = [self.prepare(image) for image in images]
        batch = np.stack([p[0] for p in prepared]).astype(np.float32)
        probs = self._run(batch)
        temperature = (self.meta.get("calibration") or {}).get("temperature")
        if temperature:
            probs = soften(probs, temperature)
        return [self._prediction(row, box) for row, (_, box) in zip(probs, prepared)]
