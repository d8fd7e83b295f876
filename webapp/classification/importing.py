"""Importing labelled images into a task: one rule for `flask data import-*` and the admin console.

Both read `<label>/<picture>` (a folder on disk, a zip archive or files dropped per label), check
the labels against the task, validate every picture as an upload is validated, store it once per
content hash and label it for the task. A bad picture is reported on its own line and skipped; a
bad archive or an unknown label refuses the whole import with `Invalid` (a 400 in the console,
a one-line failure on the command line). Every import is logged with who ran it and its counts.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from flask import current_app

from webapp.exceptions import DomainError, Invalid
from webapp.extensions import db
from webapp.tables import Task, TrainingExample

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
MAX_FILES = 5000  # pictures per import (an archive or one request of dropped files)
MAX_ARCHIVE_BYTES = 2 * 1024**3  # what an archive may unpack to, all entries together
MAX_RATIO = 50  # compressed photos barely shrink; an entry 50x smaller than its content is a bomb


@dataclass(frozen=True)
class Item:
    """One picture to import: its name (as the user sees it), its label and how to read it."""

    name: str
    label: str
    read: Callable[[], bytes]


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
    from webapp.storage.service import saving, store_image
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
    encrypted entries, entries that unpack far beyond their compressed size or an archive that
    unpacks beyond MAX_ARCHIVE_BYTES (zip bombs), and folders that are not the task's labels.
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
    if sum(i.file_size for i in entries) > MAX_ARCHIVE_BYTES:
        raise Invalid(
            f"The archive unpacks to more than {MAX_ARCHIVE_BYTES // 1024**3} GB; split it."
        )
    paths = _strip_top_folder([PurePosixPath(i.filename) for i in entries], task)
    labelled = [(info, path) for info, path in zip(entries, paths) if len(path.parts) == 2]
    check_labels(task, {path.parts[0] for _, path in labelled}, "The archive")
    items = [
        Item(str(path), path.parts[0], _reader(archive, info))
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
    if info.file_size > 1024**2 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise Invalid(
            f"{name!r} unpacks to {info.file_size // 1024**2} MB from "
            f"{info.compress_size // 1024} KB: refused as a zip bomb."
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
