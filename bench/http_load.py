"""Classify latency (p50/p99) and throughput over HTTP under load, with 1 and 2 gunicorn web workers.

    .venv/bin/python bench/http_load.py [--seconds 15] [--clients 1 8] [--workers 1 2] [--epochs 1]

First trains a small `gender` model (ml/configs/default.yaml for --epochs epochs on skimage's
LFW subset; the accuracy does not matter here, only the work a request does), registers and
deploys it in a throw-away instance (SQLite, local storage), then for each worker count starts
gunicorn as `make run` does, warms every worker up (the model loads on its first request), and
runs N client threads, each posting faces to /api/classify in a loop for --seconds. Every
request is a full classify: upload validation, face detection, the model, the image and the
answer stored. Prints one table (markdown).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import build_app, make_config  # noqa: E402
from tests.reliability import Gunicorn, served_env, train_default_model, write_lfw_folder  # noqa: E402


def face_jpegs(count: int = 24) -> list[bytes]:
    """`count` LFW faces upscaled to CelebA's 178x218, as JPEG uploads."""
    from PIL import Image as PILImage

    from tests.ml.conftest import lfw_rgb_images

    images, _ = lfw_rgb_images()
    out = []
    for pixels in images[:count]:
        buf = io.BytesIO()
        PILImage.fromarray(pixels).resize((178, 218)).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def deploy_model(root: Path, epochs: int) -> dict:
    """A migrated instance under `root` whose `gender` task serves a freshly trained model."""
    print(f"training the default classifier for {epochs} epoch(s) on the LFW subset...", flush=True)
    model = train_default_model(write_lfw_folder(root / "data"), root / "model", epochs=epochs)
    config = make_config(root)
    app = build_app(config)
    result = app.test_cli_runner().invoke(args=["models", "register", "gender", str(model)])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return config


def run_clients(url: str, clients: int, seconds: float, pictures: list[bytes]) -> dict:
    """`clients` threads classifying in a loop for `seconds`; latencies of the 200s, and errors."""
    import requests

    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        session = requests.Session()
        session.headers["User-Agent"] = f"http-load/{n}"
        i = n
        while time.monotonic() < deadline:
            data = pictures[i % len(pictures)]
            i += clients
            started = time.perf_counter()
            try:
                r = session.post(
                    f"{url}/api/classify",
                    files={"image": ("face.jpg", data)},
                    data={"task": "gender"},
                    timeout=60,
                )
                ok = r.status_code == 200 and r.json()["model_version"] is not None
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                (latencies if ok else errors).append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / wall,
        "p50": q[49],
        "p99": q[98],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="load duration per row")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 8], help="concurrent client threads"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="gunicorn web workers"
    )
    parser.add_argument("--epochs", type=int, default=1, help="epochs for the model trained first")
    args = parser.parse_args(argv)
    pictures = face_jpegs()
    rows = []
    with tempfile.TemporaryDirectory(prefix="http-load-") as tmp:
        config = deploy_model(Path(tmp), args.epochs)
        for workers in args.workers:
            with Gunicorn(
                served_env(config), Path(tmp) / f"gunicorn-{workers}.log", workers=workers
            ) as server:
                run_clients(
                    server.url, 2 * workers, 3.0, pictures
                )  # warm-up: every worker loads the model
                for clients in args.clients:
                    print(
                        f"{workers} worker(s), {clients} client(s), {args.seconds:g} s...",
                        flush=True,
                    )
                    rows.append(
                        (workers, clients, run_clients(server.url, clients, args.seconds, pictures))
                    )
    print(
        "\n| web workers | clients | requests | errors | throughput (req/s) | p50 (ms) | p99 (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    for workers, clients, r in rows:
        print(
            f"| {workers} | {clients} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['p50']:.0f} "
            f"| {r['p99']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
