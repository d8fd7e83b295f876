"""Fixtures for the browser tests.

`live_server` starts the product the way `make run` does (migrate, then `scripts/serve`: gunicorn
plus the style and train job workers) on a free port with a temporary SQLite database, storage
and queue. `browser` / `page` drive Debian's Chromium through Playwright; a page fails its test
when the browser logs a console error, an uncaught exception or a Content-Security-Policy
violation that the test did not announce with `page.watch.allow(...)`. A failing test leaves a
full-page screenshot in test-artifacts/.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.services import REPO, free_port, wait_for

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = REPO / "test-artifacts"
FLASK = REPO / ".venv" / "bin" / "flask"
if not FLASK.exists():  # a venv somewhere else: use the running interpreter's
    FLASK = Path(sys.executable).with_name("flask")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


# ---------------------------------------------------------------- the live server


def group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes in process group `pgid`, as 'pid command' strings."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (
                (entry / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
                .strip()
            )
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(f"{entry.name} {cmdline}")
    return members


@dataclass
class LiveServer:
    """The product running as `make run` runs it, in a temporary instance directory."""

    root: Path
    port: int
    admin_username: str = "admin"
    admin_password: str = "browser-admin-pass"
    command: list[str] = field(default_factory=lambda: ["./scripts/serve"])
    migrate: bool = True  # `make run` migrates by itself
    proc: subprocess.Popen | None = None

    def __post_init__(self):
        instance = self.root / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        self.instance = instance
        self.db_path = instance / "app.db"
        self.log_path = self.root / "serve.log"
        self.env = dict(os.environ)
        for var in ("REDIS_URL", "S3_ENDPOINT_URL", "NO_WORKERS"):
            self.env.pop(var, None)
        self.env.update(
            {
                "PORT": str(self.port),
                "HOST": "127.0.0.1",
                "DATABASE_URL": f"sqlite:///{self.db_path}",
                "STORAGE_URL": f"file://{instance / 'storage'}",
                "QUEUE_PATH": str(instance / "queue.db"),
                "INSTANCE_PATH": str(instance),
                "MODEL_CACHE_DIR": str(instance / "model-cache"),
                "SECRET_KEY": "browser-test-secret",
                "ADMIN_USERNAME": self.admin_username,
                "ADMIN_PASSWORD": self.admin_password,
                "JOB_STALE_SECONDS": "30",
                "STYLE_FINETUNE_STEPS": "2",  # a style retrain in the browser tests: a few steps on tiny pictures
                "STYLE_FINETUNE_SIZE": "64",
                "STYLE_JUDGE_SIZE": "64",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "PYTHONUNBUFFERED": "1",
                "SHIPPED_FACE_MODELS": "0",  # these flows train gender from the users' labels
                "NEW_TASK_FEATURES": "photo",
            }
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def admin_auth(self) -> tuple[str, str]:
        """For requests: `requests.get(url, auth=live_server.admin_auth)` (HTTP Basic)."""
        return (self.admin_username, self.admin_password)

    def flask(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run `flask --app wsgi ARGS` against this server's database, storage and queue."""
        result = subprocess.run(
            [str(FLASK), "--app", "wsgi", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"flask {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n--- server log ---\n{self.log()[-4000:]}"
            )
        return result

    def sql(self, query: str, *params) -> list[tuple]:
        """Read this server's SQLite database directly (what got stored, independent of the API)."""
        import sqlite3

        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(query, params).fetchall()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def healthy(self) -> bool:
        try:
            return requests.get(self.url("/healthz"), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def start(self, timeout: float = 90) -> LiveServer:
        if self.migrate:
            self.flask("db", "upgrade", timeout=120)
        self._log = open(self.log_path, "ab")
        # Its own session = its own process group, as a terminal's foreground job is.
        self.proc = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.proc.returncode}:\n{self.log()[-4000:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"/healthz not 200 after {timeout}s:\n{self.log()[-4000:]}")
            time.sleep(0.3)
        # Both job workers say when they consume their queue.
        wait_for(
            lambda: all(
                f"worker consuming the {q} queue" in self.log() for q in ("style", "train")
            ),
            60,
            interval=0.3,
            message="both job workers to consume their queues:\n" + self.log()[-2000:],
        )
        return self

    def interrupt(self, timeout: float = 30) -> list[str]:
        """Ctrl-C: SIGINT to the whole process group, as a terminal does. Returns what is left running."""
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        left = group_members(pgid)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = group_members(pgid)
        return left

    def stop(self) -> list[str]:
        """Stop with Ctrl-C; anything still running afterwards is killed and returned."""
        if self.proc is None:
            return []
        left = self.interrupt() if self.proc.poll() is None or group_members(self.proc.pid) else []
        if left:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._log.close()
        return left


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One running product for the browser session; on teardown Ctrl-C must stop all of it."""
    from tests.conftest import PRETRAINED_CACHE

    require_chromium()
    server = LiveServer(tmp_path_factory.mktemp("live"), free_port())
    # Converted once per machine, as every test app shares them (the newcomer's fresh install
    # converts its own: tests/browser/test_newcomer.py).
    server.env["PRETRAINED_CACHE_DIR"] = str(PRETRAINED_CACHE)
    server.start()
    yield server
    left = server.stop()
    assert server.proc.returncode is not None, "scripts/serve did not exit on Ctrl-C"
    assert not left, "still running after Ctrl-C:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def gender_model(live_server, tmp_path_factory):
    """A trained and deployed `gender` model: CelebA-layout import + `flask retrain gender --wait`
    through the live server's own train worker. Returns the deployed version."""
    from tests.classification.test_celeba_import_and_retrain import write_split_celeba

    before = {t["name"]: t for t in api_get(live_server, "/api/tasks")}
    if before["gender"]["model_version"]:
        return before["gender"]["model_version"]
    data = tmp_path_factory.mktemp("celeba")
    write_split_celeba(data)
    live_server.flask("data", "import-celeba", str(data), "--task", "gender")
    result = live_server.flask("retrain", "gender", "--wait", timeout=400)
    assert "'promoted': True" in result.stdout, result.stdout + result.stderr
    version = None

    def deployed_everywhere():
        # Each gunicorn worker notices the new model on its own poll; ask a few times.
        nonlocal version
        seen = {
            t["model_version"]
            for _ in range(4)
            for t in api_get(live_server, "/api/tasks")
            if t["name"] == "gender"
        }
        version = seen.pop() if len(seen) == 1 else None
        return version

    wait_for(deployed_everywhere, 30, interval=0.5, message="the deployed gender model")
    return version


def api_get(server: LiveServer, path: str, **kwargs):
    response = requests.get(server.url(path), timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


# ---------------------------------------------------------------- the browser


def require_chromium() -> None:
    """Skip without Debian's Chromium, except under CI=true, where its absence is a failure."""
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is missing: install Debian's chromium (scripts/test-prereqs does it as root: "
        "apt-get install chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must provide it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


CSP_LISTENER = """
window.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


class PageWatch:
    """Console errors, uncaught page errors and CSP violations seen by one page."""

    def __init__(self):
        self.problems: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Expect console errors matching `pattern` (a regex), e.g. the 400 a test provokes."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message) -> None:
        if message.type == "error":
            self.problems.append(
                f"console error: {message.text} ({message.location.get('url', '')})"
            )

    def on_page_error(self, error) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def context(browser, live_server):
    """A fresh browser profile (no cookies) pointed at the live server, 1280x900 desktop."""
    ctx = browser.new_context(
        base_url=live_server.base_url,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, request):
    """A page that fails the test on console errors, uncaught exceptions and CSP violations.

    `page.watch.allow(regex)` declares an error the test provokes on purpose.
    """
    page = context.new_page()
    watch = PageWatch()
    page.watch = watch
    page.add_init_script(CSP_LISTENER)
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    yield page
    failed = any(
        getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    problems = watch.unexpected()
    if failed or problems:
        save_screenshot(page, request.node.name + "-failure")
    page.close()
    if problems and not failed:
        pytest.fail("the browser reported problems:\n" + "\n".join(problems), pytrace=False)


def save_screenshot(page, name: str, full_page: bool = True) -> Path | None:
    """Write test-artifacts/NAME.png; never raises (a closed page has nothing to show)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    try:
        page.screenshot(path=str(path), full_page=full_page)
        return path
    except Exception:  # noqa: BLE001 - a screenshot is a courtesy, not the test
        return None


def save_readme_screenshot(page, name: str) -> Path:
    """A full-page screenshot plus NAME-small.png, reduced to 256 colours so it fits in the repo
    (docs/screenshot.png is a copy of one of these; scripts/screenshot makes it)."""
    from PIL import Image

    page.evaluate(
        "window.scrollTo(0, 0)"
    )  # else the sticky header is drawn where the page was scrolled
    page.wait_for_timeout(300)
    path = save_screenshot(page, name)
    assert path, "could not take the screenshot"
    small = path.with_name(path.stem + "-small.png")
    with Image.open(path) as image:
        image.convert("RGB").quantize(
            256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        ).save(small, optimize=True)
    return small


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def admin_page(context, page, live_server):
    """`page`, logged in as the admin through the login form."""
    login(page, live_server)
    return page


def login(
    page, server: LiveServer, username: str | None = None, password: str | None = None
) -> None:
    """Log in through the login form as a person would."""
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username or server.admin_username)
    page.get_by_test_id("login-password").fill(password or server.admin_password)
    with page.expect_navigation():
        page.get_by_test_id("login-submit").click()


# ---------------------------------------------------------------- pictures


def picture(name: str, fmt: str = "JPEG", max_side: int | None = None) -> bytes:
    """An skimage sample picture (astronaut, coffee, chelsea, ...) encoded as `fmt`."""
    import io

    from PIL import Image
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    if max_side:
        image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.convert("RGB").save(out, format=fmt, quality=90)
    return out.getvalue()


def file_payload(name: str, data: bytes, mime: str = "image/jpeg") -> dict:
    """What Playwright's set_input_files takes for an in-memory file."""
    return {"name": name, "mimeType": mime, "buffer": data}


DROP_JS = """
([b64, name, mime]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, { type: mime }));
  return dt;
}
"""


def drop_file(page, selector: str, name: str, data: bytes, mime: str = "image/jpeg") -> bool:
    """Drag a file over `selector` and drop it, with DragEvents carrying a DataTransfer built in
    the page. Returns whether the zone showed its drag-over highlight before the drop."""
    target = page.locator(selector)
    transfer = page.evaluate_handle(DROP_JS, [base64.b64encode(data).decode(), name, mime])
    target.dispatch_event("dragenter", {"dataTransfer": transfer})
    target.dispatch_event("dragover", {"dataTransfer": transfer})
    highlighted = "is-dragover" in (target.get_attribute("class") or "")
    target.dispatch_event("drop", {"dataTransfer": transfer})
    transfer.dispose()
    return highlighted
