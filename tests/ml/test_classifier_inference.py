"""Serving a trained classifier: labels, probabilities, face boxes, batches."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from ml.classify.inference import Classifier

pytestmark = pytest.mark.slow  # needs a trained classifier (trained_default)


@pytest.fixture(scope="module")
def clf(trained_default):
    return Classifier.load(trained_default)


def test_predicts_a_label_with_probabilities_and_the_face_box(clf):
    prediction = clf.predict(skdata.astronaut())
    assert prediction.label in clf.labels and set(prediction.probabilities) == set(clf.labels)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert prediction.probability == max(prediction.probabilities.values())
    x, y, w, h = prediction.face_box
    assert 150 < x < 200 and 50 < y < 100 and w > 60


def test_no_face_gives_face_box_none(clf):
    assert clf.predict(skdata.coffee()).face_box is None


def test_batch_matches_single_predictions(clf):
    images = [skdata.astronaut(), skdata.coffee(), skdata.chelsea()]
    batch = clf.predict_batch(images)
    single = [clf.predict(image) for image in images]
    assert [p.label for p in batch] == [p.label for p in single]
    assert batch[0].probability == pytest.approx(single[0].probability, abs=1e-5)


def test_rejects_non_image_arrays(clf):
    with pytest.raises(ValueError, match="Received"):
        clf.predict(np.zeros((10, 10, 3), np.float32))
