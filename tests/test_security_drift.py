"""Issue 27: slow poisoning by many new addresses is held for an admin, round after round."""

from tests.drift_replay import replay


def test_slow_poisoning_is_never_promoted_without_an_admin(app, client, admin):
    first, *rounds = replay(app, client, admin)
    assert first["promoted"] is True and first["deployed_right"] >= 55, first
    for row in rounds:
        result = row["result"]
        assert row["promoted"] is False and row["held"] is True, result
        assert row["deployed_right"] >= 55, row  # v1 keeps answering
        (warning,) = [w for w in result["warnings"] if w.startswith("held for an admin")]
        assert "new voters" in warning and "crowd" in warning, warning
        weights = result["data_counts"]["voters"]
        assert weights["unproven_kept"] <= 0.25 * weights["proven"], weights
