"""Benchmark: what a user waits for, from POST /api/stylize until the status says done.

    python bench/style_api.py                 # fast methods through the served app (`make run`)
    python bench/style_api.py --nst --size 512 --strength 0.5   # nst: direct vs API, one picture

Default: the product started exactly as `make run` starts it (scripts/serve: gunicorn plus the
style and train workers, SQLite, the embedded Huey queue) on a free port in a temporary
instance. Once the style worker says its networks are warm, five different photos
(scikit-image's astronaut, chelsea, coffee, rocket, motorcycle, each scaled to 512 px) are
stylized one after another, each after 3 s of idle (as a person picks the next picture), by
`arbitrary` (style: the immunohistochemistry picture), by `preset`, and by `arbitrary` at
1024 px; the client polls the status every 50 ms (the page polls every 120 ms at first). Rows: median and range of the client's wall time and of the worker's own timing.

`--nst`: one stylization called directly (`ml.stylize.run`) vs through the API with a real
`flask worker --queue style` (skimage astronaut in the style of coffee).
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


FIVE = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")


def jpeg(name: str, side: int) -> bytes:
    from PIL import Image
    from skimage import data

    pixels = getattr(data, name)()
    picture = Image.fromarray(pixels[0] if isinstance(pixels, tuple) else pixels).convert("RGB")  # motorcycle: left
    scale = side / max(picture.size)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=92)
    return out.getvalue()


def served(rows_of) -> None:
    """Start the product as `make run` does, wait until its style worker is warm, run `rows_of`."""
    import requests

    from tests.browser.conftest import LiveServer
    from tests.services import free_port, wait_for

    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), free_port())
        started = time.perf_counter()
        server.start(timeout=180)
        try:
            wait_for(lambda: "fast style networks warm" in server.log() or "warm-up failed" in server.log(), 600,
                     interval=0.5, message="the style worker's warm-up")
            print(f"(served and warm after {time.perf_counter() - started:.0f} s)", file=sys.stderr)
            rows_of(server, requests.Session())
        finally:
            left = server.stop()
            if left:
                print("still running after Ctrl-C:", left, file=sys.stderr)


def phases(server, status_url: str) -> tuple[float, float]:
    """(queue pickup: request stored -> job claimed, in the worker: claimed -> picture stored) from the database."""
    import datetime as dt

    sid = status_url.rstrip("/").rsplit("/", 1)[-1]
    created, started, finished = server.sql(
        "SELECT s.created, j.started, s.finished FROM stylizations s JOIN jobs j ON j.id = s.job_id "
        "WHERE CAST(s.id AS TEXT) = ? OR s.id = ?", sid, sid)[0]
    t = [dt.datetime.fromisoformat(str(v)) for v in (created, started, finished)]
    return (t[1] - t[0]).total_seconds(), (t[2] - t[1]).total_seconds()


def post_to_done(server, http, fields: dict, files: dict) -> tuple[float, float]:
    """(client's wall seconds from POST to a done status, the worker's own seconds)."""
    start = time.perf_counter()
    answer = http.post(server.url("/api/stylize"), data=fields, files=files, timeout=30)
    if answer.status_code != 202:
        raise SystemExit(f"POST /api/stylize: {answer.status_code} {answer.text}")
    status_url = server.url(answer.json()["status_url"])
    while True:
        status = http.get(status_url, timeout=30).json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if status["status"] != "done":
        raise SystemExit(f"a stylization failed: {status['error']}")
    try:
        PHASES.append(phases(server, status_url))
    except Exception as exc:  # noqa: BLE001 - the breakdown is a courtesy; the wall time is the figure
        print(f"(no phase breakdown: {exc})", file=sys.stderr)
    return wall, status["seconds"]


PHASES: list[tuple[float, float]] = []
PAUSE = 3.0


def fast_rows(server, http) -> None:
    import statistics

    style = jpeg("immunohistochemistry", 512)
    cases = [("arbitrary", 512, {}), ("preset", 512, {"preset": "7"}), ("arbitrary", 1024, {})]
    print("| method | size | POST -> done, median (client, 5 photos) | range | worker's own seconds, median "
          "| queue pickup, median | job in the worker, median |")
    print("|---|---|---|---|---|---|---|")
    for method, size, extra in cases:
        walls, works = [], []
        PHASES.clear()
        for name in FIVE:
            time.sleep(PAUSE)  # a person picks the next picture: the worker sits idle meanwhile
            files = {"content": (f"{name}.jpg", jpeg(name, 512), "image/jpeg")}
            if method == "arbitrary":
                files["style"] = ("ihc.jpg", style, "image/jpeg")
            wall, work = post_to_done(server, http, {"method": method, "size": str(size), **extra}, files)
            walls.append(wall)
            works.append(work)
        print(f"| {method} | {size} | {statistics.median(walls):.2f} s | {min(walls):.2f}-{max(walls):.2f} s | "
              f"{statistics.median(works):.2f} s | {statistics.median(p[0] for p in PHASES) if PHASES else float('nan'):.3f} s "
              f"| {statistics.median(p[1] for p in PHASES) if PHASES else float('nan'):.2f} s |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nst", action="store_true", help="the nst comparison (direct vs API) instead")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--strength", type=float, default=0.5)
    parser.add_argument("--pause", type=float, default=PAUSE, help="idle seconds before each request (default 3)")
    args = parser.parse_args()
    if not args.nst:
        globals()["PAUSE"] = args.pause
        served(fast_rows)
        return
    arrays, encoded = photos()
    seconds = direct(arrays, args.size, args.strength)
    wall, worker_seconds = through_api(encoded, args.size, args.strength)
    print(f"| path | size | seconds |\n|---|---|---|\n| ml.stylize.run (direct) | {args.size} | {seconds:.1f} |")
    print(f"| POST /api/stylize -> done (client's wall time) | {args.size} | {wall:.1f} |")
    print(f"| the same job, worker's own timing | {args.size} | {worker_seconds:.1f} |")


if __name__ == "__main__":
    main()
