"""A newcomer's first hour, below the browser: thumbnails that are not painted yet answer 202
(never 404) and a small JSON says what is ready; the deploy audit log names the version each
move replaced, a rollback's included (it showed "—"); the first start's terminal shows the
address once the site answers, without TensorFlow's start-up noise."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from scripts.terminal import NO_GPU
from tests.services import REPO, free_port
from webapp.extensions import db
from webapp.registry import versions
from webapp.storage.store import saving


def test_a_rollback_row_names_the_version_it_replaced(app, client, admin, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text("{}")
    with app.app_context():
        for _ in range(3):
            with saving() as new_keys:
                mv = versions.register_version("echo", "echo", tmp_path / "m", new_keys)
            versions.promote("echo", mv.version, actor="root")
            db.session.commit()
    rows = client.get("/api/admin/deployments?target=echo", headers=admin).json
    assert [(r["version"], r["previous"], r["rolls_back_to"]) for r in rows] == [
        ("v3", "v2", "v2"),
        ("v2", "v1", "v1"),
        ("v1", None, None),
    ]
    assert client.post("/api/admin/models/echo/rollback", headers=admin).status_code == 200
    latest = client.get("/api/admin/deployments?target=echo", headers=admin).json[0]
    assert (latest["action"], latest["version"], latest["previous"]) == ("rollback", "v2", "v3")
    assert latest["rolls_back_to"] == "v1"  # what the confirm step names before a second rollback
    client.post("/api/admin/models/echo/rollback", headers=admin)
    latest = client.get("/api/admin/deployments?target=echo", headers=admin).json[0]
    assert (latest["version"], latest["previous"], latest["rolls_back_to"]) == ("v1", "v2", None)


def test_thumbnails_answer_202_until_painted_and_ready_lists_them(app, client, tmp_path):
    from webapp.storage.store import storage
    from webapp.style import builtin

    assert client.get("/api/styles/preset/ready").json == {
        "networks_ready": False,
        "thumbnails_ready": [],
        "thumbnails_total": 0,
        "ready": False,
    }
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text("{}")
    presets = [{"id": 0, "name": "Style 1"}, {"id": 1, "name": "Style 2"}]
    with app.app_context():
        for target in ("arbitrary", "preset"):
            with saving() as new_keys:
                mv = versions.register_version(
                    target, target, tmp_path / "m", new_keys, config={"presets": presets}
                )
            versions.promote(target, mv.version, actor="system", action="bootstrap")
            db.session.commit()
        second = builtin.presets(mv)[1]  # ids and names are the network's, 1..26
        url, key = second["thumbnail_url"], builtin.thumbnail_key(mv, second["id"])
    waiting = client.get(url)
    assert waiting.status_code == 202 and waiting.headers["Retry-After"] == "2"
    assert "being rendered" in waiting.json["error"]
    assert (
        client.get("/api/styles/preset/27/thumbnail.jpg").status_code == 404
    )  # no such preset (1..26)
    ready = client.get("/api/styles/preset/ready").json
    assert ready["networks_ready"] and ready["thumbnails_ready"] == [] and not ready["ready"]
    with app.app_context():
        storage().put(key, b"\xff\xd8 a jpeg", content_type="image/jpeg")
    painted = client.get(url)
    assert painted.status_code == 200 and painted.mimetype == "image/jpeg"
    ready = client.get("/api/styles/preset/ready").json
    assert ready["thumbnails_ready"] == [second["id"]] and ready["thumbnails_total"] == 26


@pytest.mark.slow
def test_first_start_shows_the_address_once_the_site_answers_and_no_tensorflow_noise(tmp_path):
    """`scripts/serve` as `make run` starts it: the "open in your browser" line comes when the
    home page answers (it came about 36 s early), and none of TensorFlow's start-up lines (four
    `E0000 ... failed call to cuInit` on a CPU machine) reach the terminal."""
    env = first_start_env(tmp_path, free_port())
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=REPO, env=env, check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    proc = subprocess.Popen(
        ["./scripts/serve"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    lines, answered = [], None
    try:
        for raw in proc.stdout:
            lines.append(raw.decode("utf-8", "replace"))
            if lines[-1].startswith("CelebVision: http://"):
                answered = requests.get(f"http://127.0.0.1:{env['PORT']}/", timeout=5).status_code
                break
        time.sleep(1)  # what the worker prints just after it serves
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        rest, _ = proc.communicate(timeout=60)
    lines += rest.decode("utf-8", "replace").splitlines(keepends=True)
    shown = "".join(lines)
    assert answered == 200, shown[-3000:]
    assert f"CelebVision: http://127.0.0.1:{env['PORT']}" in shown
    noise = [line for line in lines if re.match(r"[IWE]\d{4} ", line) or "cuInit" in line]
    assert not noise, noise
    assert "absl::InitializeLog" not in shown and "oneDNN" not in shown
    if not Path("/dev/nvidiactl").exists():
        assert shown.count(NO_GPU) == 1, shown[-3000:]


def test_the_terminal_filter_keeps_real_errors():
    from scripts.terminal import is_noise

    assert is_noise(
        "E0000 00:00:1796585994.321148    8210 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
    )
    assert is_noise("I0000 00:00:1796585991.3 8210 cpu_feature_guard.cc:227] This TensorFlow ")
    assert not is_noise("E0000 00:00:1796585994.3 8210 some_op.cc:52] out of memory\n")
    assert not is_noise("E0000 00:00:17965.3 8210 gpu_device.cc:52] CUDA_ERROR_OUT_OF_MEMORY")
    assert not is_noise("Traceback (most recent call last):")
    assert not is_noise('127.0.0.1 - - "GET /healthz HTTP/1.1" 200 61')


def first_start_env(tmp_path, port: int) -> dict:
    """A fresh install's environment: its own instance folder, web server only (the job
    workers import TensorFlow the same way; a web worker is enough to see its noise)."""
    from tests.conftest import PRETRAINED_CACHE

    instance = tmp_path / "instance"
    instance.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "S3_ENDPOINT_URL")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a newcomer's shell has it
    return {
        **env,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "NO_WORKERS": "1",
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": f"sqlite:///{instance / 'app.db'}",
        "STORAGE_URL": f"file://{instance / 'storage'}",
        "QUEUE_PATH": str(instance / "queue.db"),
        "INSTANCE_PATH": str(instance),
        "MODEL_CACHE_DIR": str(instance / "model-cache"),
        "PRETRAINED_CACHE_DIR": str(PRETRAINED_CACHE),
        "SECRET_KEY": "first-start-secret",
    }


def test_api_docs_examples_use_the_address_the_page_was_served_from(client):
    """The curl sessions said port 8000 whatever the server ran on; DELETE is in one."""
    from webapp.apidocs.examples import BASE

    base = "http://celebvision.test:5123"
    doc = client.get("/api/openapi.json", base_url=base).json
    assert doc["servers"] == [{"url": base}]
    sessions = " ".join(tag["description"] for tag in doc["tags"])
    assert BASE not in sessions and f"{base}/api/stylize" in sessions
    assert f"-X DELETE -o /dev/null -w '%{{http_code}}\\n' {base}/api/stylize/$J" in sessions
    page = client.get("/api/docs", base_url=base).get_data(as_text=True)
    assert BASE not in page and f"{base}/api/classify" in page
