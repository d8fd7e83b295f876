"""The gate's verdict and the reliability line in plain words first; promote asks first."""

import numpy as np

from tests.services import REPO
from webapp.classification import retrain, wording


def test_a_perfect_first_model_on_a_tiny_holdout_is_told_how_many_labels_to_add():
    y = np.array([0, 0, 1, 1])  # the beard model: right on all 4, p = 0.25
    baseline_right, _ = retrain._majority(y, ["beard", "no_beard"])
    promoted, test = retrain.paired_gate(np.ones(4, bool), baseline_right, first=True)
    assert not promoted and test["p_value"] == 0.25
    words = wording.verdict(
        {"model_version": "v1", "promoted": False, "gate": test, "compared_with": {}}
    )
    assert words["labels_needed"] == 30  # 6 more held out (5 of 10 right alone: p = 1/32)
    assert "too few to be sure" in words["headline"] and "p=" not in words["headline"]
    assert words["next"].startswith("Label about 30 more photos")
    assert "verify 6 labels" in words["next"]


def test_other_outcomes_say_what_happened_and_what_to_do():
    promoted = wording.verdict(
        {"model_version": "v2", "promoted": True, "compared_with": {"model_version": "v1"}}
    )
    assert (
        promoted["headline"].startswith("v2 is now serving") and "Nothing to do" in promoted["next"]
    )
    held = wording.verdict({"model_version": "v3", "promoted": False, "held_for_admin": True})
    assert "waiting for you" in held["headline"] and "review queue" in held["next"]
    worse = wording.verdict(
        {
            "model_version": "v4",
            "promoted": False,
            "gate": {"p_value": 0.01, "n": 30},
            "compared_with": {"model_version": "v1"},
        }
    )
    assert "v1 keeps serving" in worse["headline"]


def test_the_reliability_line_in_words():
    line = wording.reliability(
        {
            "temperature": 1.0,
            "n": 4,
            "ece_before": 0.174,
            "ece_after": 0.174,
            "share_above_99_before": 0.0,
            "share_above_99_after": 0.0,
        }
    )
    assert line.startswith("Its percentages are not to be trusted yet")
    assert "off by about 17 points" in line and "More verified labels" in line
    assert "temperature" not in line and "calibration error" not in line


def test_promote_asks_for_confirmation_as_rollback_does(app, client, admin):

    from tests.http_helpers import log_in

    log_in(client)
    page = client.get("/admin/models/gender")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="promote-confirm"' in html and 'data-testid="promote-confirm-yes"' in html
    script = (REPO / "static/js/admin/models.js").read_text()
    assert "askPromote(v.version" in script  # the row's button only opens the confirmation
    assert script.count('"/promote"') == 1 and "promoteYes.addEventListener" in script
