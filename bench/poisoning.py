"""Slow poisoning replayed with and without the defences, side by side, in one run.

    .venv/bin/python bench/poisoning.py        (bench/abuse.py prints it too)

A task with 60 honest labels from 3 addresses and v1 promoted; then 80 new addresses, each
labelling one new picture wrongly, in three rounds with a retrain after each (in-process, the
quick "photo" config the tests use, skimage's LFW subset: face / other). Per round: whether the
candidate was promoted, and how many of 60 unseen honest pictures the deployed model and the
candidate answer rightly. Without the defences: no crowds, no share bound for voters with no
record, the candidate compared only with its predecessor (the former gate).
"""

from __future__ import annotations

import base64
import contextlib
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import build_app, dispose, make_config  # noqa: E402
from tests.drift_replay import UNSEEN, replay, without_defences  # noqa: E402


def run(defended: bool) -> list[dict]:
    """The replay on a fresh app; one row per retrain."""
    from webapp.auth.access import create_or_reset_admin

    with tempfile.TemporaryDirectory(prefix="poisoning-bench-") as tmp:
        app = build_app(make_config(Path(tmp)))
        with app.app_context():
            create_or_reset_admin("root", "s3cret-pass")
        admin = {"Authorization": "Basic " + base64.b64encode(b"root:s3cret-pass").decode()}
        guard = contextlib.nullcontext() if defended else without_defences()
        try:
            with guard:
                return replay(app, app.test_client(), admin, candidates=True)
        finally:
            dispose(app)


def _cell(row: dict) -> str:
    verdict = (
        "promoted" if row["promoted"] else ("held for an admin" if row.get("held") else "refused")
    )
    serving = f"serving {row['deployed'] or row['version']}"
    right = f"{row['deployed_right']}/{UNSEEN}" if row["deployed_right"] is not None else "-"
    candidate = f"{row['candidate_right']}/{UNSEEN}" if row["candidate_right"] is not None else "-"
    return f"{row['version']} {verdict}; {serving} | {right} | {candidate}"


def table() -> str:
    """The markdown table of both runs."""
    without, defended = run(False), run(True)
    lines = [
        "| round | without: verdict | deployed right | candidate right "
        "| with: verdict | deployed right | candidate right |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(without, defended):
        what = "60 honest labels" if a["round"] == 0 else f"+{round(80 * a['round'] / 3)} wrong"
        lines.append(f"| {a['round']} ({what}) | {_cell(a)} | {_cell(b)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
