"""What `make run` shows in the terminal: the servers' log, less TensorFlow's start-up noise,
and the "open in your browser" line once the site answers.

`scripts/serve` pipes everything the supervisor and its children print through this
(`python scripts/terminal.py URL`). Why: the address used to be printed about 36 s
before the site answered, and each process that imports TensorFlow printed about 28 lines, four
of them `E0000 ... failed call to cuInit`, which on a machine without a GPU read as failures.
Those lines are dropped and replaced by one sentence saying what a missing GPU means; every
other line (the access log, the workers' progress, real errors) passes through unchanged.

Ctrl-C (or SIGTERM) reaches the whole process group: this ignores it and ends when the last
process writing to it has closed its output, so the servers' shutdown lines are still shown and
none of them writes into a closed pipe.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

NO_GPU = "No GPU found: training and Classic style run on the CPU (slower)."
POLL_SECONDS, SLOW_START_SECONDS = 0.5, 120.0
# TensorFlow's, XLA's and absl's start-up lines: "I0000 00:00:17.. 123 file.cc:45] ..." at
# INFO or WARNING level, and their unprefixed companions.
_TF_INFO = re.compile(r"^[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\]")
# Only the start-up errors of a machine without a GPU: a real CUDA error (out of memory on a GPU)
# still shows.
_TF_CUDA_ERROR = re.compile(
    r"^E\d{4} .*(failed call to cuInit|Unable to register cu\w+ factory"
    r"|computation placer already registered|Could not find TensorRT)"
)
_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",
    "Could not find cuda drivers on your machine",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
)
_GPU_MISSING = ("cuInit", "Could not find cuda drivers")


def is_noise(line: str) -> bool:
    """True for TensorFlow's and CUDA's start-up chatter (never for any other error)."""
    text = line.strip()
    return bool(
        _TF_INFO.match(text) or _TF_CUDA_ERROR.match(text) or any(n in text for n in _NOISE)
    )


def gpu_device_present() -> bool:
    """An NVIDIA driver's device node: where there is none, TensorFlow runs on the CPU."""
    return Path("/dev/nvidiactl").exists() or Path("/dev/nvidia0").exists()


class Terminal:
    """Relays lines to stdout (thread-safe), saying the GPU sentence at most once."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.lock = threading.Lock()
        self.said_no_gpu = False

    def say(self, line: str) -> None:
        with self.lock:
            try:
                self.out.write(line if line.endswith("\n") else line + "\n")
                self.out.flush()
            except (OSError, ValueError):  # the terminal went away: keep reading regardless,
                pass  # so the servers never write into a closed pipe

    def no_gpu(self) -> None:
        with self.lock:
            if self.said_no_gpu:
                return
            self.said_no_gpu = True
        self.say(NO_GPU)

    def relay(self, stream) -> None:
        """Copy ``stream`` (bytes, line by line) to the terminal, less the noise."""
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            if not is_noise(line):
                self.say(line)
            elif any(marker in line for marker in _GPU_MISSING):
                self.no_gpu()


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when the home page answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def announce_when_up(terminal: Terminal, url: str, probe: str) -> None:
    """Print the address once the site answers (and once that it is slow, after two minutes)."""
    started, warned = time.monotonic(), False
    while not answers(probe):
        if not warned and time.monotonic() - started > SLOW_START_SECONDS:
            terminal.say("CelebVision is still starting (its log is above)...")
            warned = True
        time.sleep(POLL_SECONDS)
    if not gpu_device_present():
        terminal.no_gpu()
    terminal.say(f"CelebVision: {url}  (open it in your browser; Ctrl-C stops everything)")


def probe_url(url: str) -> str:
    """Where to ask: the same address, with a listen-on-all host asked on the loopback."""
    return re.sub(r"//(0\.0\.0\.0|\[::\])(:|/|$)", r"//127.0.0.1\2", url.rstrip("/")) + "/"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: terminal.py URL  (reads the servers' output on stdin)", file=sys.stderr)
        return 2
    for stop in (signal.SIGINT, signal.SIGTERM):  # end with the servers (EOF), never before them
        signal.signal(stop, signal.SIG_IGN)
    terminal = Terminal()
    url = argv[0]
    threading.Thread(
        target=announce_when_up, args=(terminal, url, probe_url(url)), daemon=True
    ).start()
    terminal.relay(sys.stdin.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
