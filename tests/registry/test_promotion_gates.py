"""The promotion gates: a paired test on one holdout decides; a threshold problem is flagged."""

from types import SimpleNamespace

import numpy as np
import pytest

from ml.classify.evaluate import metrics_from_predictions
from ml.common.stats import best_threshold_accuracy, mcnemar_exact
from webapp.classification import retrain
from webapp.style import retrain as style_retrain

TASK = SimpleNamespace(metric="accuracy")
DEPLOYED = SimpleNamespace(version="v1")


def outcomes(
    both: int, only_new: int, only_old: int, neither: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image right/wrong of a candidate and of what it is compared with."""
    new = [1] * both + [1] * only_new + [0] * only_old + [0] * neither
    old = [1] * both + [0] * only_new + [1] * only_old + [0] * neither
    return np.array(new, bool), np.array(old, bool)


def test_mcnemar_is_the_exact_binomial_tail_on_discordant_pairs():
    test = mcnemar_exact(*outcomes(20, 6, 1, 3), "better")
    assert (test["n"], test["candidate_only_right"], test["compared_only_right"]) == (30, 6, 1)
    assert test["p_value"] == pytest.approx((1 + 7) / 2**7)  # P(B >= 6), B ~ Binomial(7, 1/2)
    assert mcnemar_exact(*outcomes(20, 6, 1, 3), "worse")["p_value"] == pytest.approx(127 / 128)
    assert (
        mcnemar_exact(*outcomes(9, 0, 0, 1), "better")["p_value"] == 1.0
    )  # no discordant image: no evidence
    with pytest.raises(ValueError, match="Received"):
        mcnemar_exact([True], [True, False])


def test_first_model_barely_above_the_baseline_on_a_few_dozen_images_is_refused():
    # A reported case's numbers: 34 images, accuracy 0.618 against a majority baseline of 0.529.
    y = np.array([0] * 18 + [1] * 16)
    baseline_right, baseline = retrain._majority(y, ["female", "male"])
    assert baseline["accuracy"] == pytest.approx(18 / 34) and baseline["baseline"] == "majority"
    new_right = np.r_[np.ones(12, bool), np.zeros(6, bool), np.ones(9, bool), np.zeros(7, bool)]
    promoted, test = retrain.paired_gate(new_right, baseline_right, first=True)
    assert new_right.mean() == pytest.approx(21 / 34) and not promoted and test["p_value"] >= 0.05
    reason = retrain._reason(TASK, promoted, test, {"accuracy": 21 / 34}, baseline, None)
    assert reason.startswith(
        "first model: not significantly better than the majority-class baseline"
    )
    assert "p=" in reason and "label more images" in reason


def test_first_model_clearly_better_than_the_baseline_is_promoted():
    y = np.array([0] * 17 + [1] * 17)
    baseline_right, _ = retrain._majority(y, ["female", "male"])
    promoted, test = retrain.paired_gate(np.ones(34, bool), baseline_right, first=True)
    assert promoted and test["p_value"] < 0.001 and test["n"] == 34


def test_later_model_refused_only_when_significantly_worse():
    promoted, test = retrain.paired_gate(*outcomes(25, 1, 2, 2), first=False)
    assert promoted and test["alternative"] == "candidate worse"  # a little worse: within noise
    promoted, test = retrain.paired_gate(*outcomes(20, 0, 8, 2), first=False)
    assert not promoted and test["p_value"] == pytest.approx(1 / 256)
    reason = retrain._reason(TASK, promoted, test, {"accuracy": 0.67}, {"accuracy": 0.93}, DEPLOYED)
    assert reason.startswith("significantly worse than deployed v1") and reason.endswith("v1 stays")


def test_best_threshold_accuracy_and_the_threshold_warning():
    y = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.05, 0.1, 0.2, 0.3, 0.35, 0.45])  # ranked perfectly, all below 0.5
    assert best_threshold_accuracy(y == 1, scores) == (1.0, 0.3)
    metrics = metrics_from_predictions(y, np.c_[1 - scores, scores], ["female", "male"])
    assert (
        metrics["accuracy"] == 0.5
        and metrics["best_threshold_accuracy"] == 1.0
        and metrics["roc_auc"] == 1.0
    )
    (warning,) = retrain.threshold_warnings(metrics)
    assert "threshold problem" in warning and "0.500" in warning and "1.000" in warning
    good = metrics_from_predictions(y, np.c_[1 - scores - 0.3, scores + 0.3], ["female", "male"])
    assert good["accuracy"] == 1.0 and retrain.threshold_warnings(good) == []


def test_style_gate_on_judge_fidelity():
    assert not style_retrain._decide({"fidelity": 1.2}, DEPLOYED, {"fidelity": 1.0})[0]
    assert style_retrain._decide({"fidelity": 0.9}, DEPLOYED, {"fidelity": 1.0})[0]
    first = style_retrain._decide({"style_distance": 0.5}, None, {"style_distance": 0.8})
    assert first[0] and "beats the unchanged photo" in first[1]
    assert not style_retrain._decide({"style_distance": 0.9}, None, {"style_distance": 0.8})[0]
