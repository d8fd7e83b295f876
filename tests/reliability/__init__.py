"""The reliability suite's helpers: the app as `make run` starts it, a trained model, row checks.

The bench (bench/http_load.py) reuses them, so they live here rather than in conftest.py.
"""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

from tests.services import REPO, app_env, free_port, terminate

GUNICORN = REPO / ".venv" / "bin" / "gunicorn"
ADMIN = ("root", "s3cret-pass")
ADMIN_HEADER = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}


def served_env(config: dict, **extra) -> dict:
    """The environment `make run` would see for `config`, with rate and connection limits raised so
    load is not refused."""
    env = app_env(config)
    env.update(
        {
            "RATE_LIMIT_UPLOADS": "100000/minute",
            "RATE_LIMIT_FEEDBACK": "100000/minute",
            "MAX_QUEUED_PER_CLIENT": "100000",
            "CONNECTIONS_PER_ADDRESS": "100000",  # load tests run every client on 127.0.0.1
            "ADMIN_USERNAME": ADMIN[0],
            "ADMIN_PASSWORD": ADMIN[1],
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Gunicorn:
    """`gunicorn --workers N wsgi:app`, as scripts/serve starts it, on a free port."""

    def __init__(self, env: dict, log: Path, workers: int = 2, port: int | None = None):
        self.env, self.log_path, self.workers = env, Path(log), workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> Gunicorn:
        """Start the server and wait until /healthz answers (any status: a dependency may be down)."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                str(GUNICORN),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--graceful-timeout",
                "10",
                "--no-control-socket",
                "wsgi:app",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"gunicorn exited with {self.proc.returncode}:\n{self.output()[-3000:]}"
                )
            try:
                requests.get(f"{self.url}/healthz", timeout=30)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
        self.stop()
        raise AssertionError(
            f"gunicorn did not answer /healthz within {timeout}s:\n{self.output()[-3000:]}"
        )

    def stop(self) -> None:
        """SIGTERM (what Ctrl-C in `make run` sends), then SIGKILL if it lingers."""
        terminate(self.proc, wait=20)
        if getattr(self, "log", None):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def write_lfw_folder(root: Path, limit: int | None = None) -> Path:
    """A folder-per-label data set (female/, male/) from skimage's LFW subset (labels are arbitrary)."""
    from PIL import Image as PILImage

    from tests.ml.conftest import lfw_rgb_images

    images, labels = lfw_rgb_images()
    for i, (image, label) in enumerate(zip(images, labels)):
        if limit is not None and i % (200 // limit) != 0:
            continue
        folder = root / ("male" if label else "female")
        folder.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(image).save(folder / f"{i:03d}.jpg", quality=95)
    return root


def train_default_model(data_dir: Path, out_dir: Path, epochs: int = 1) -> Path:
    """`python -m ml.train ml/configs/default.yaml` for `epochs` epochs; the model folder."""
    subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "python"),
            "-m",
            "ml.train",
            str(REPO / "ml/configs/default.yaml"),
            "--data",
            str(data_dir),
            "--out",
            str(out_dir),
            "--epochs",
            str(epochs),
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out_dir


def orphans_and_dangling(app) -> tuple[list[str], list[str]]:
    """(objects under models/ and results/ no row names, rows whose object is missing)."""
    from webapp.extensions import db
    from webapp.tables import Image, ModelVersion, Stylization

    with app.app_context():
        store = app.extensions["storage"]
        named = {k for (k,) in db.session.execute(db.select(ModelVersion.storage_key))}
        named |= {k for (k,) in db.session.execute(db.select(Stylization.result_key)) if k}
        image_keys = [k for (k,) in db.session.execute(db.select(Image.storage_key))]
        db.session.remove()
    stored = set(store.list("models/")) | set(store.list("results/"))
    dangling = sorted(k for k in named | set(image_keys) if not store.exists(k))
    return sorted(stored - named), dangling


class Served:
    """`scripts/serve` (what `make run` runs after migrating): gunicorn and both job workers
    under the supervisor, in its own process group as a terminal's foreground job is."""

    def __init__(self, env: dict, log: Path, no_workers: bool = False):
        self.env = {**env, "PORT": str(free_port()), "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
        self.env.pop("NO_WORKERS", None)
        if no_workers:
            self.env["NO_WORKERS"] = "1"
        self.url = f"http://127.0.0.1:{self.env['PORT']}"
        self.log_path = Path(log)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Served:
        import requests

        from tests.services import wait_for

        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(REPO / "scripts" / "serve")],
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/serve exited:\n{self.output()[-3000:]}")
            try:
                return requests.get(f"{self.url}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, timeout, interval=0.3, message="/healthz of scripts/serve")
        return self

    def pid_of(self, name: str) -> int:
        """The pid of the latest `name` ("style worker", "web server") the supervisor started."""
        import re

        found = re.findall(rf"started {name} \(pid (\d+)\)", self.output())
        assert found, self.output()[-3000:]
        return int(found[-1])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def group_alive(self) -> bool:
        """Whether any process of its group (gunicorn, its workers, the job workers) still runs."""
        import os

        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> int | None:
        """Ctrl-C: SIGINT to the whole process group; the exit status of scripts/serve."""
        import os
        import signal

        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(40)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()
        return self.proc.returncode
