"""The promotion gates: a worse candidate never goes live; a first model must beat the baseline."""
from types import SimpleNamespace

from webapp import retrain, style_retrain

TASK = SimpleNamespace(metric="accuracy")
DEPLOYED = SimpleNamespace(version="v1")


def test_worse_classifier_refused_with_reason():
    ok, reason = retrain._decide(TASK, {"accuracy": 0.70}, DEPLOYED, {"accuracy": 0.80})
    assert not ok and "worse than deployed v1's 0.800" in reason and "v1 stays" in reason


def test_equal_or_better_classifier_promoted():
    assert retrain._decide(TASK, {"accuracy": 0.80}, DEPLOYED, {"accuracy": 0.80})[0]
    assert retrain._decide(TASK, {"accuracy": 0.90}, DEPLOYED, {"accuracy": 0.80})[0]


def test_first_classifier_must_beat_majority_baseline():
    baseline = retrain._majority_baseline(__import__("collections").Counter({"a": 6, "b": 4}))
    assert baseline["accuracy"] == 0.6
    assert not retrain._decide(TASK, {"accuracy": 0.6}, None, baseline)[0]
    ok, reason = retrain._decide(TASK, {"accuracy": 0.9}, None, baseline)
    assert ok and "beats the majority-class baseline" in reason


def test_missing_metric_refused():
    ok, reason = retrain._decide(SimpleNamespace(metric="roc_auc"), {"roc_auc": None}, DEPLOYED, {"roc_auc": 0.9})
    assert not ok and "could not be computed" in reason


def test_style_gate_on_judge_fidelity():
    assert not style_retrain._decide({"fidelity": 1.2}, DEPLOYED, {"fidelity": 1.0})[0]
    assert style_retrain._decide({"fidelity": 0.9}, DEPLOYED, {"fidelity": 1.0})[0]
    first = style_retrain._decide({"style_distance": 0.5}, None, {"style_distance": 0.8})
    assert first[0] and "beats the unchanged photo" in first[1]
    assert not style_retrain._decide({"style_distance": 0.9}, None, {"style_distance": 0.8})[0]
