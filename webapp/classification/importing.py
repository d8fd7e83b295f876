"""Importing labelled images into a task: one rule for `flask data import-*` and the admin console.

Both read `<label>/<picture>` (a folder on disk, a zip archive or files dropped per label), check
the labels against the task, validate every picture as an upload is validated, store it once per
content hash and label it for the task. A bad picture is reported on its own line and skipped; a
bad archive or an unknown label refuses the whole import with `Invalid` (a 400 in the console,
a one-line failure on the command line). Every import is logged with who ran it and its counts.

Bounded in pixels and time (300 solid-colour 4000 x 4000 PNGs in a 107 KB zip held a
web request 41 s): the console imports a few small pictures at once, and anything larger as an
`import` job with progress (`run_import`, on the train queue's workers, with its own time limit);
an archive is refused beyond IMPORT_MAX_MB unpacked or when it unpacks far beyond its size.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from flask import current_app

from webapp.exceptions import DomainError, Invalid
from webapp.extensions import db
from webapp.tables import Task, TrainingExample

IMPORT_JOB = "import"  # the job type of a background import (registered by webapp.wiring)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
MAX_FILES = 5000  # pictures per import (an archive or one request of dropped files)
MAX_RATIO = 50  # compressed photos barely shrink; an entry 50x smaller than its content is a bomb
RATIO_FLOOR = 64 * 1024  # entries below this are judged with the whole archive, not one by one
# What the console imports within its request; more goes to an `import` job.
INLINE_FILES, INLINE_BYTES, INLINE_PIXELS = 20, 20 * 1024**2, 64_000_000


@dataclass(frozen=True)
class Item:
    """One picture to import: its name (as the user sees it), its label and how to read it."""

    name: str
    label: str
    read: Callable[[], bytes]
    size: int = 0  # unpacked bytes, when known before reading


@dataclass
class FileResult:
    name: str
    label: str
    status: str  # "added" | "duplicate" | "skipped"
    reason: str = ""


@dataclass
class ImportReport:
    """What an import did, per picture and in all."""

    task: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def summary(self) -> str:
        return (
            f"{self.task}: imported {self.count('added')} images, "
            f"{self.count('duplicate')} already present, "
            f"{self.count('skipped')} unreadable files skipped"
        )

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "added": self.count("added"),
            "duplicates": self.count("duplicate"),
            "skipped": self.count("skipped"),
            "files": [vars(f) for f in self.files],
        }


def check_labels(task: Task, found: Iterable[str], where: str) -> list[str]:
    """The task's labels among `found` (in the task's order); refuse unknown or missing ones."""
    found = sorted(set(found))
    unknown = [name for name in found if name not in task.labels]
    if not found or unknown:
        raise Invalid(
            f"{where} must hold one folder per label of {task.name!r} {task.labels}; "
            f"found {found}" + (f" (unknown: {unknown})" if unknown else "")
        )
    return [label for label in task.labels if label in found]


def import_images(
    task: Task,
    items: list[Item],
    *,
    source: str,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    bounded: bool = True,
) -> ImportReport:
    """Validate, store and label each item for `task`; bad pictures are reported, not fatal.

    `bounded`: at most MAX_FILES pictures, what one web request may do (the command line is not).
    """
    if bounded and len(items) > MAX_FILES:
        raise Invalid(
            f"{len(items)} pictures in one import; at most {MAX_FILES}. "
            "Split them into several imports."
        )
    report = ImportReport(task.name)
    for done, item in enumerate(items, start=1):
        report.files.append(_import_one(task, item, source))
        if progress:
            progress(done, len(items))
    current_app.logger.info(
        "data import by %s (%s): %s", actor, source, report.summary().replace("\n", " ")
    )
    return report


def _import_one(task: Task, item: Item, source: str) -> FileResult:
    from webapp.storage.store import saving, store_image
    from webapp.uploads import validate_image

    if not item.label:
        return FileResult(item.name, "", "skipped", "not inside a <label>/ folder")
    if item.label not in task.labels:
        return FileResult(item.name, item.label, "skipped", f"{item.label!r} is not a label")
    if PurePosixPath(item.name).suffix.lower() not in IMAGE_EXTENSIONS:
        return FileResult(item.name, item.label, "skipped", "not a .jpg, .jpeg, .png or .webp file")
    try:
        upload = validate_image(
            item.read(), name=item.name, max_pixels=current_app.config["MAX_IMAGE_PIXELS"]
        )
    except (DomainError, OSError) as exc:
        return FileResult(item.name, item.label, "skipped", _reason(exc, item.name))
    with saving() as new_keys:
        image = store_image(upload, new_keys)
        db.session.flush()
        exists = db.session.scalar(
            db.select(TrainingExample.id).where(
                TrainingExample.task_id == task.id, TrainingExample.image_id == image.id
            )
        )
        if exists:
            return FileResult(item.name, item.label, "duplicate", "already in this task")
        db.session.add(
            TrainingExample(task_id=task.id, image_id=image.id, label=item.label, source=source)
        )
    return FileResult(item.name, item.label, "added")


def _reason(exc: Exception, name: str) -> str:
    """The validation message without the file name the result line already shows."""
    text = str(exc)
    return text[len(name) + 2 :] if text.startswith(name + ": ") else text


# ---------------------------------------------------------------- zip archives


def archive_items(task: Task, fileobj) -> list[Item]:
    """The pictures of a zip of `<label>/<picture>` (optionally inside one top folder).

    Refuses, before reading any picture: a file that is not a zip, more than MAX_FILES
    entries, a path that leaves the archive (absolute, `..`, a drive or backslashes), links,
    encrypted entries, entries or a whole archive that unpack far beyond their compressed size
    (zip bombs), an archive that unpacks beyond IMPORT_MAX_MB, and folders that are not the
    task's labels.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Invalid(
            "The upload is not a readable zip archive; zip the <label>/ folders."
        ) from None
    if len(archive.infolist()) > MAX_FILES:
        raise Invalid(
            f"The archive holds {len(archive.infolist())} files; at most {MAX_FILES} per import. "
            "Split it."
        )
    for info in archive.infolist():
        _check_entry(info)
    entries = [i for i in archive.infolist() if not i.is_dir() and not _ignored(i.filename)]
    _check_totals(archive.infolist())
    paths = _strip_top_folder([PurePosixPath(i.filename) for i in entries], task)
    labelled = [(info, path) for info, path in zip(entries, paths) if len(path.parts) == 2]
    check_labels(task, {path.parts[0] for _, path in labelled}, "The archive")
    items = [
        Item(str(path), path.parts[0], _reader(archive, info), info.file_size)
        for info, path in zip(entries, paths)
        if len(path.parts) == 2
    ]
    stray = [str(p) for p in paths if len(p.parts) != 2]
    return items + [Item(name, "", bytes) for name in stray]


def _ignored(name: str) -> bool:
    """Folders and files a zip tool adds by itself (macOS resource forks, hidden files)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/") if part)


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or ".." in parts or ":" in parts[0]:
        raise Invalid(
            f"{name!r}: an unsafe path in the archive (absolute or with '..'); "
            "zip the <label>/ folders themselves."
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise Invalid(f"{name!r} is a link; the archive must hold the pictures themselves.")
    if info.flag_bits & 0x1:
        raise Invalid(f"{name!r} is encrypted; zip the pictures without a password.")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise Invalid(
            f"{name!r} unpacks to {info.file_size // 1024**2} MB from "
            f"{info.compress_size // 1024} KB: refused as a zip bomb."
        )


def _check_totals(infos: list[zipfile.ZipInfo]) -> None:
    """The whole archive: at most IMPORT_MAX_MB unpacked, and not a bomb made of small entries
    (2000 entries of 1 MB each unpack to 2 GB, each under any per-entry threshold)."""
    limit_mb = current_app.config["IMPORT_MAX_MB"]
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > limit_mb * 1024**2:
        raise Invalid(
            f"The archive unpacks to {unpacked // 1024**2} MB; at most {limit_mb} MB per import. "
            "Split it."
        )
    if unpacked > RATIO_FLOOR * 16 and unpacked > MAX_RATIO * packed:
        raise Invalid(
            f"The archive unpacks to {unpacked // 1024**2} MB from {packed // 1024} KB: "
            "refused as a zip bomb."
        )


def _strip_top_folder(paths: list[PurePosixPath], task: Task) -> list[PurePosixPath]:
    """Zipping a folder wraps its label folders in it: `data/female/a.jpg` -> `female/a.jpg`."""
    tops = {p.parts[0] for p in paths if len(p.parts) > 1}
    if len(tops) == 1 and all(len(p.parts) == 3 for p in paths) and not tops & set(task.labels):
        return [PurePosixPath(*p.parts[1:]) for p in paths]
    return paths


def _reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    limit = current_app.config["MAX_CONTENT_LENGTH"]

    def read() -> bytes:
        if info.file_size > limit:
            raise Invalid(f"larger than {limit // 1024**2} MB; send a smaller picture.")
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise Invalid(f"damaged in the archive ({exc}).") from None

    return read


# ---------------------------------------------------------------- inline or as a job


def _pixels(item: Item) -> int:
    """Width x height from the picture's header (nothing decoded); 0 when unreadable."""
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(item.read())) as picture:
            return picture.width * picture.height
    except Exception:
        return 0


def fits_inline(items: list[Item]) -> bool:
    """Whether an import is small enough to run within one web request (a second or two)."""
    if len(items) > INLINE_FILES or sum(i.size for i in items) > INLINE_BYTES:
        return False
    return sum(_pixels(i) for i in items) <= INLINE_PIXELS


def zip_of(items: list[Item]) -> bytes:
    """The pictures as a zip of `<label>/<name>`, for a job to import."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n, item in enumerate(items):
            name = PurePosixPath(item.name.replace("\\", "/")).name or "picture"
            archive.writestr(f"{item.label}/{n:05d}-{name}", item.read())
    return buffer.getvalue()


def start_import_job(task: Task, archive: bytes, actor: str):
    """Store the archive and queue an `import` job for it; the job's result is the report."""
    import uuid

    from webapp.jobs.runner import create_job, enqueue
    from webapp.storage.store import storage

    key = f"imports/{uuid.uuid4().hex}.zip"
    storage().put(key, archive, "application/zip")
    job = create_job(
        IMPORT_JOB, params={"task": task.name, "archive": key, "actor": actor}, created_by=actor
    )
    db.session.commit()
    enqueue(job)
    return job


def run_import(job, ctx) -> dict:
    """The handler of `import` jobs: import the stored archive with progress, then delete it."""
    from webapp.jobs.runner import JobCancelled
    from webapp.storage.store import storage

    params = job.params or {}
    task = db.session.scalar(db.select(Task).where(Task.name == params["task"]))
    if task is None:
        raise Invalid(f"No task named {params['task']!r} any more.")

    def progress(done: int, total: int) -> None:
        if ctx.should_stop():
            raise JobCancelled()
        ctx.progress(done / total, f"{done} of {total} pictures checked")

    try:
        items = archive_items(task, io.BytesIO(storage().get(params["archive"])))
        report = import_images(
            task, items, source="console", actor=params.get("actor", "admin"), progress=progress
        )
    finally:
        storage().delete(params["archive"])
    return report.to_dict()
