"""Evidence for the shipped face models on the bundled sets: the metrics and plots an admin reads."""

from __future__ import annotations

import pytest

from ml.faces import evidence
from ml.faces import model as fm


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("pretrained")


@pytest.mark.slow
def test_gender_v1_has_metrics_and_plots(cache, tmp_path):
    metrics = evidence.evaluate(fm.pretrained_task_dir("gender", cache), tmp_path)
    assert metrics["n"] == metrics["holdout"]["n"] > 80 and metrics["accuracy"] > 0.85
    assert metrics["holdout"]["labels"] == ["female", "male"]
    assert metrics["no_face"]["answered_as_face"] <= 2  # a cup or a cat is no face
    for name in ("roc.png", "confusion_matrix.png", "reliability.png", "evaluation.json"):
        assert (tmp_path / "holdout" / name).stat().st_size > 0
    assert sum(r["n"] for r in metrics["holdout"]["reliability"]) == metrics["n"]


@pytest.mark.slow
def test_age_v1_carries_its_development_figures(cache, tmp_path):
    metrics = evidence.evaluate(fm.pretrained_task_dir("age", cache), tmp_path)
    assert metrics["age"]["development"]["after"]["children_recall"] >= 0.85
    assert "holdout" not in metrics  # nothing with real ages ships


def test_age_figures_by_band():
    import numpy as np

    ages = np.array([5, 20, 35, 50, 70, 75])
    years = ages + np.array([1, 2, 0, -3, -5, -7])
    probs = np.eye(5)[[0, 1, 2, 3, 4, 4]]
    figures = evidence.summarise_ages(ages, years, probs, fm.AGE_BRACKETS)
    assert figures["by_band"]["60+"]["mean_signed_error"] == -6.0
    assert figures["children_recall"] == 1.0 and figures["mae_13_plus"] == pytest.approx(17 / 5)
