"""Run the web server and the job workers; restart whichever dies, with back-off; stop all on
Ctrl-C or SIGTERM. `scripts/serve` (and so `make run`) runs this.

Why a small supervisor of our own rather than supervisord or systemd: `make run` must work on a
fresh machine with nothing but Python, and gunicorn already supervises the web workers (it
replaces a crashed one); this does the same for the master and the job workers. A deployment
that has systemd, Kubernetes or supervisord runs the same three commands under it instead
(README, "Deploying at scale").

A child that exits is started again after 1 s, then 2, 4, ... up to 60 s while it keeps dying
within a minute of its start; a run longer than that resets the back-off. Each exit and restart
is logged with the child's exit status. A job worker's running job is picked up again by the
restarted worker (retried once, then failed with the reason: webapp/jobs/runner.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
MIN_DELAY, MAX_DELAY, STABLE_SECONDS = 1.0, 60.0, 60.0
STARTUP_SECONDS = 10.0  # a first start that fails this fast is a set-up problem: give up
STOP_SECONDS = 30.0


def log(message: str) -> None:
    print(
        f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} supervisor: {message}", file=sys.stderr, flush=True
    )


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class Child:
    """One supervised program."""

    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    delay: float = MIN_DELAY
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=REPO)
        self.started, self.restart_at = time.monotonic(), None
        log(f"started {self.name} (pid {self.proc.pid})")

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def fails_at_start(self, code: int) -> bool:
        """A first start that exits with an error within seconds (port taken, no database)."""
        quick = time.monotonic() - self.started < STARTUP_SECONDS
        return self.restarts == 0 and code > 0 and quick

    def schedule_restart(self, code: int) -> None:
        """Note the exit and when to start again: back-off doubles while it keeps dying fast."""
        ran = time.monotonic() - self.started
        if ran >= STABLE_SECONDS:
            self.delay = MIN_DELAY
        log(
            f"{self.name} (pid {self.proc.pid}) stopped after {ran:.0f} s ({describe_exit(code)}); "
            f"restarting in {self.delay:.0f} s"
        )
        self.restart_at = time.monotonic() + self.delay
        self.delay = min(self.delay * 2, MAX_DELAY)
        self.restarts += 1
        self.proc = None


def programs(args) -> list[Child]:
    web = [
        str(BIN / "gunicorn"),
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--bind",
        args.bind,
        "--no-control-socket",
        "--access-logfile",
        "-",
        "wsgi:app",
    ]
    children = [Child("web server", web)]
    if not args.no_job_workers:
        for queue in ("style", "train"):
            argv = [str(BIN / "flask"), "--app", "wsgi", "worker", "--queue", queue]
            children.append(Child(f"{queue} worker", argv))
    return children


class Supervisor:
    def __init__(self, children: list[Child]):
        self.children = children
        self.stopping = False

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for child in self.children:
            child.start()
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                code = child.exited()
                if code is not None and child.fails_at_start(code):
                    log(f"{child.name} could not start ({describe_exit(code)}); stopping")
                    self.stop_all()
                    return code
                if code is not None:
                    child.schedule_restart(code)
                elif (
                    child.proc is None and child.restart_at is not None and now >= child.restart_at
                ):
                    child.start()
            time.sleep(0.2)
        self.stop_all()
        return 0

    def stop_all(self) -> None:
        """SIGTERM to every child (a terminal's Ctrl-C has sent them SIGINT already), then
        SIGKILL to any still running after STOP_SECONDS."""
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_SECONDS
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} did not stop in {STOP_SECONDS:.0f} s; killing it")
                proc.kill()
                proc.wait(10)
        log("stopped")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per web worker")
    parser.add_argument("--no-job-workers", action="store_true", help="serve the web only")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return Supervisor(programs(args)).run()


if __name__ == "__main__":
    sys.exit(main())
