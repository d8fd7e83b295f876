"""Slow poisoning, replayed in-process: shared by tests/security/test_slow_poisoning.py and
bench/abuse.py (which runs it with and without the defences)."""

from __future__ import annotations

import contextlib
import io
from unittest import mock

import numpy as np
from PIL import Image as PILImage

from tests import http_helpers
from tests.http_helpers import start_retrain

HONEST, HONEST_VOTERS, ATTACKERS, UNSEEN, ROUNDS = 60, 3, 80, 60, 3
TASK = "faces"


def jpeg(pixels) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="JPEG", quality=95)
    return out.getvalue()


def photos() -> list[tuple[bytes, str]]:
    """skimage's 200 LFW-subset pictures (face / other) at 48 px in a fixed shuffled order."""
    from tests.ml.conftest import lfw_rgb_images

    images, faces = lfw_rgb_images(48)
    order = np.random.default_rng(5).permutation(len(images))
    return [(jpeg(images[i]), "face" if faces[i] else "other") for i in order]


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def classify(browser, data: bytes, address: str) -> dict:
    response = browser.post(
        "/api/classify",
        data={"image": (io.BytesIO(data), "p.jpg"), "task": TASK},
        content_type="multipart/form-data",
        **at(address),
    )
    assert response.status_code == 200, response.json
    return response.json


def label(browser, data: bytes, value: str, address: str) -> dict:
    answer = classify(browser, data, address)
    response = browser.post(
        f"/api/classify/{answer['id']}/feedback", json={"label": value}, **at(address)
    )
    assert response.status_code == 201, response.json
    return answer


def retrain(app, client, admin) -> dict:
    from webapp.jobs.runner import execute_job

    job_id = start_retrain(client, admin, task=TASK)
    with app.app_context():
        execute_job(job_id)  # in this process: no worker to start, and the replay stays quick
    job = http_helpers.job(client, admin, job_id)
    assert job["status"] == "done", job
    return job["result"]


def deployed(client) -> str | None:
    return {t["name"]: t for t in client.get("/api/tasks").json}[TASK]["model_version"]


def right_on(app, browser, unseen: list[tuple[bytes, str]]) -> int:
    """How many unseen honest pictures the deployed model answers rightly."""
    return sum(classify(browser, data, "10.0.9.9")["label"] == truth for data, truth in unseen)


def candidate_right_on(app, version: str, unseen: list[tuple[bytes, str]]) -> int:
    """How many unseen honest pictures a registered (maybe not deployed) version answers rightly."""
    from ml import evaluate as ml_evaluate
    from ml.classify import data as ml_data
    from webapp.registry import versions

    with app.app_context(), contextlib.ExitStack() as stack:
        import tempfile
        from pathlib import Path

        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for n, (data, truth) in enumerate(unseen):
            (root / truth).mkdir(exist_ok=True)
            (root / truth / f"{n}.jpg").write_bytes(data)
        model = versions.local_dir(versions.find(TASK, version))
        samples = ml_data.read_folder(root, ["face", "other"], 0.0, 0.0)
        y_true, probs, _ = ml_evaluate.predict_dir(model, samples)
        return int((probs.argmax(axis=1) == y_true).sum())


@contextlib.contextmanager
def without_defences():
    """The defences switched off: no crowds, no share bound, only the predecessor checks."""
    from webapp.classification import guard, shares, voters

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(voters, "crowds", lambda votes, standing: {}))
        stack.enter_context(
            mock.patch.object(shares, "bound", lambda task, items, outcome: (items, None))
        )
        for name in ("_drift_from_anchor", "_below_baseline", "_new_voters"):
            stack.enter_context(mock.patch.object(guard, name, lambda *a, **k: None))
        yield


def replay(app, client, admin, candidates: bool = False) -> list[dict]:
    """60 honest labels from 3 addresses and v1; then 80 new addresses, one new picture each
    labelled wrongly, in three rounds with a retrain after each. One row per retrain; with
    `candidates`, also how each registered candidate answers the unseen pictures."""
    pictures = photos()
    honest, poison, unseen = (
        pictures[:HONEST],
        pictures[HONEST : HONEST + ATTACKERS],
        pictures[HONEST + ATTACKERS : HONEST + ATTACKERS + UNSEEN],
    )
    response = client.post(
        "/api/admin/tasks", json={"name": TASK, "labels": ["face", "other"]}, headers=admin
    )
    assert response.status_code == 201, response.json
    for v in range(HONEST_VOTERS):
        browser = app.test_client()
        for data, truth in honest[v::HONEST_VOTERS]:
            label(browser, data, truth, f"10.0.1.{v + 1}")
    first = retrain(app, client, admin)
    tester = app.test_client()
    rows = [
        {
            "round": 0,
            "version": first["model_version"],
            "promoted": first["promoted"],
            "deployed": deployed(client),
            "deployed_right": right_on(app, tester, unseen),
            "candidate_right": None,
            "result": first,
        }
    ]
    flipped = {"face": "other", "other": "face"}
    bounds = np.linspace(0, ATTACKERS, ROUNDS + 1).round().astype(int)
    for r in range(ROUNDS):
        for k in range(bounds[r], bounds[r + 1]):
            data, truth = poison[k]
            label(app.test_client(), data, flipped[truth], f"10.66.{k // 200}.{k % 200 + 1}")
        result = retrain(app, client, admin)
        rows.append(
            {
                "round": r + 1,
                "version": result["model_version"],
                "promoted": result["promoted"],
                "held": result.get("held_for_admin"),
                "deployed": deployed(client),
                "deployed_right": (
                    right_on(app, tester, unseen) if r == ROUNDS - 1 or candidates else None
                ),
                "candidate_right": (
                    candidate_right_on(app, result["model_version"], unseen) if candidates else None
                ),
                "result": result,
            }
        )
    return rows
