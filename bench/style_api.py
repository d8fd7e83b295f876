"""Benchmark: one stylization called directly (`ml.stylize.run`) vs through the product's API.

    python bench/style_api.py --size 512 [--method nst]

The API path is what a user waits for: POST /api/stylize, a real `flask worker --queue style`
process picks the job, the page polls GET /api/stylize/<id> until done. Both rows use the same
picture (skimage astronaut in the style of coffee) in one run.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: `python bench/...`

import argparse
import io
import tempfile
import time


def photos():
    """(content, style) as uint8 arrays and PNG bytes."""
    from PIL import Image
    from skimage import data

    arrays = (data.astronaut(), data.coffee())
    encoded = []
    for array in arrays:
        out = io.BytesIO()
        Image.fromarray(array).save(out, format="PNG")
        encoded.append(out.getvalue())
    return arrays, encoded


def direct(arrays, size: int, strength: float) -> float:
    from ml import stylize

    start = time.perf_counter()
    stylize.run(arrays[0], arrays[1], method="nst", strength=strength, size=size)
    return time.perf_counter() - start


def through_api(encoded, size: int, strength: float) -> tuple[float, float]:
    """(seconds from POST to done as the client sees it, seconds the worker reports)."""
    from tests.conftest import build_app, make_config
    from tests.services import Worker, app_env, wait_for

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(make_config(Path(tmp)))
        client = app.test_client()
        worker = Worker(app_env(app.config), "style", Path(tmp) / "worker.log").start()
        try:
            time.sleep(15)  # let the worker import TensorFlow first, as a running deployment has
            start = time.perf_counter()
            form = {"content": (io.BytesIO(encoded[0]), "c.png"), "style": (io.BytesIO(encoded[1]), "s.png"),
                    "size": str(size), "strength": str(strength)}
            sid = client.post("/api/stylize", data=form, content_type="multipart/form-data").json["id"]
            status = wait_for(lambda: (s := client.get(f"/api/stylize/{sid}").json)["status"]
                              in ("done", "failed") and s, 7200, interval=0.5, message="the API stylization")
            wall = time.perf_counter() - start
        finally:
            worker.stop()
    if status["status"] != "done":
        raise SystemExit(f"the API stylization failed: {status['error']}")
    return wall, status["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--strength", type=float, default=0.5)
    args = parser.parse_args()
    arrays, encoded = photos()
    seconds = direct(arrays, args.size, args.strength)
    wall, worker_seconds = through_api(encoded, args.size, args.strength)
    print(f"| path | size | seconds |\n|---|---|---|\n| ml.stylize.run (direct) | {args.size} | {seconds:.1f} |")
    print(f"| POST /api/stylize -> done (client's wall time) | {args.size} | {wall:.1f} |")
    print(f"| the same job, worker's own timing | {args.size} | {worker_seconds:.1f} |")


if __name__ == "__main__":
    main()
