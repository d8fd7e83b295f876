"""Model registry: immutable versions in storage, checked by sha256, and the deploy pointer."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ml.common import cache
from ml.style import methods as ml_methods
from webapp.exceptions import Conflict, NotFound
from webapp.extensions import db
from webapp.storage.store import storage
from webapp.tables import Deployment, Job, ModelVersion

_refused: dict[str, tuple[float, str]] = {}  # storage key -> (retry after, reason)
REFUSAL_SECONDS = 60.0
VERSION_ATTEMPTS = 5
_lock = threading.Lock()


class ModelRefused(Exception):
    """A model version that cannot be served (corrupt, missing or unloadable)."""


def _pack(model_dir: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file() and "backup" not in path.relative_to(model_dir).parts:
                tar.add(path, arcname=path.relative_to(model_dir).as_posix())
    return buf.getvalue()


def next_version(target: str) -> str:
    """The next version name of `target`: one above the highest vN it has (v1 for the first)."""
    names = db.session.scalars(
        db.select(ModelVersion.version).where(ModelVersion.target == target)
    ).all()
    numbers = [int(name[1:]) for name in names if name[:1] == "v" and name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1}"


def register_version(
    target: str,
    kind: str,
    model_dir: Path,
    new_keys: list[str],
    version: str | None = None,
    **fields,
) -> ModelVersion:
    """Store `model_dir` as the next (or the given) immutable version of `target` (object first, then row).

    The row is flushed at once: (target, version) is unique, so two processes registering the
    same target at the same moment cannot both get the same version; the loser takes the next
    number. With an explicit `version` the IntegrityError is the caller's to handle.
    """
    data = _pack(Path(model_dir))
    sha = hashlib.sha256(data).hexdigest()
    for _attempt in range(VERSION_ATTEMPTS):
        name = version or next_version(target)
        key = f"models/{target}/{name}-{sha[:16]}.tar.gz"
        storage().put(key, data, content_type="application/gzip")
        new_keys.append(key)
        mv = ModelVersion(
            target=target,
            version=name,
            kind=kind,
            storage_key=key,
            sha256=sha,
            size_bytes=len(data),
            **fields,
        )
        try:
            with db.session.begin_nested():
                db.session.add(mv)
        except IntegrityError:
            if version is not None:
                raise
            new_keys.remove(key)
            if not _referenced(key):  # the winner may have stored the same bytes under the same key
                storage().delete(key)
            continue
        return mv
    raise Conflict(
        f"Could not find a free version name for {target!r}; other registrations keep taking it. "
        "Try again."
    )


def _referenced(key: str) -> bool:
    return (
        db.session.scalar(
            db.select(ModelVersion.id).where(ModelVersion.storage_key == key).limit(1)
        )
        is not None
    )


def has_versions(target: str) -> bool:
    """True when the registry holds at least one version of `target`."""
    return (
        db.session.scalar(db.select(ModelVersion.id).where(ModelVersion.target == target).limit(1))
        is not None
    )


def latest_kind(target: str) -> str | None:
    """The model kind of the newest version of `target` (None when it has none)."""
    return db.session.scalar(
        db.select(ModelVersion.kind)
        .where(ModelVersion.target == target)
        .order_by(ModelVersion.id.desc())
        .limit(1)
    )


def deployed(target: str) -> ModelVersion | None:
    """The version of `target` being served now, if any."""
    row = db.session.scalar(
        db.select(Deployment)
        .where(Deployment.target == target)
        .order_by(Deployment.id.desc())
        .limit(1)
    )
    return row.model_version if row else None


def verified_bytes(mv: ModelVersion) -> bytes:
    """The stored archive of a version, refused unless its sha256 matches the registry's."""
    try:
        data = storage().get(mv.storage_key)
    except KeyError:
        raise ModelRefused(f"{mv.target} {mv.version}: its file is missing from storage") from None
    if hashlib.sha256(data).hexdigest() != mv.sha256:
        raise ModelRefused(f"{mv.target} {mv.version}: its file is corrupt (sha256 mismatch)")
    return data


def _folder(mv: ModelVersion) -> Path:
    """Where this machine unpacks a version (unpacked or not yet)."""
    return (
        Path(current_app.config["MODEL_CACHE_DIR"]) / mv.target / f"{mv.version}-{mv.sha256[:16]}"
    )


def local_dir(mv: ModelVersion) -> Path:
    """The version unpacked in this machine's cache, after checking its sha256."""
    root = _folder(mv)
    if (root / "meta.json").exists():
        return root
    data = verified_bytes(mv)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=".unpack-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        tmp.rename(root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (root / "meta.json").exists():
            raise
    except tarfile.TarError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelRefused(f"{mv.target} {mv.version}: unreadable archive ({exc})") from None
    return root


def _cache_key(mv: ModelVersion) -> str:
    return f"sha256:{mv.sha256}"  # the content, not a row id or a folder, names a model


def is_loaded(mv: ModelVersion) -> bool:
    """True when this process holds the loaded model of `mv` (or refused it a moment ago).

    No lock: `load` holds it for the seconds a load takes, and a cache lookup is short.
    """
    return cache.is_cached(key=_cache_key(mv)) or mv.storage_key in _refused


def loaded(mv: ModelVersion):
    """The model of `mv` if this process holds it already, else None (never loads, never waits)."""
    return cache.peek(key=_cache_key(mv))


def forget(mv: ModelVersion) -> None:
    """Drop `mv`'s model from this process (the next `load` loads it afresh)."""
    cache.forget(key=_cache_key(mv))


def load(mv: ModelVersion, *, retry: bool = False):
    """The loaded model object of a version, loaded once per process into the process's one
    model cache (ml.common.cache, by sha256), where ml code asking for its folder finds it too.

    A refusal is remembered for a minute, so requests meeting a broken deployed version do not
    each download and unpack it again; `retry` (an admin's promote) checks afresh.
    """
    key = _cache_key(mv)
    with _lock:
        model = cache.peek(key=key)
        if model is not None:
            if (_folder(mv) / "meta.json").exists():  # ml code may ask by this folder's path
                cache.alias(_folder(mv), key)
            return model
        refused = _refused.get(mv.storage_key)
        if refused and not retry and time.monotonic() < refused[0]:
            raise ModelRefused(refused[1])
        try:
            model = _load_kind(mv.kind, local_dir(mv), key)
        except Exception as exc:
            reason = (
                str(exc)
                if isinstance(exc, ModelRefused)
                else f"{mv.target} {mv.version} cannot be loaded: {exc}"
            )
            _refused[mv.storage_key] = (time.monotonic() + REFUSAL_SECONDS, reason)
            raise ModelRefused(reason) from None
        _refused.pop(mv.storage_key, None)
        return model


def _load_kind(model_kind: str, path: Path, key: str):
    """Any model folder ml/kinds.py knows, through the one cache; a kind it does not know (a test's
    own) is served by its folder."""
    from ml import kinds as ml_kinds

    if model_kind not in ml_kinds.KINDS:
        return path
    return ml_kinds.load(path, expect=(model_kind,), key=key)


def find(target: str, version: str) -> ModelVersion:
    """Version `version` of `target`; NotFound when there is none."""
    mv = db.session.scalar(
        db.select(ModelVersion).where(
            ModelVersion.target == target, ModelVersion.version == version
        )
    )
    if mv is None:
        raise NotFound(f"No version {version!r} of {target!r}.")
    return mv


def promote(
    target: str, version: str, *, actor: str | None, action: str = "promote", reason: str = ""
) -> ModelVersion:
    """Point `target` at `version` after checking that it loads; refuse it otherwise."""
    mv = find(target, version)
    try:
        verified_bytes(
            mv
        )  # even when the same content is loaded already, its own file must be sound
        if ml_methods.for_model(mv.kind) is not None:
            local_dir(mv)  # a style model: the style worker loads it when a job needs it
        else:
            load(mv, retry=True)
    except (ModelRefused, OSError) as exc:
        raise Conflict(f"Refused: {exc}. The deployed version keeps serving.") from None
    current = deployed(target)
    db.session.add(
        Deployment(
            target=target,
            model_version_id=mv.id,
            action=action,
            actor=actor,
            previous_version_id=current.id if current else None,
            reason=reason,
        )
    )
    return mv


def rollback(target: str, *, actor: str | None) -> ModelVersion:
    """Deploy the version that was deployed before the current one."""
    rows = db.session.scalars(
        db.select(Deployment).where(Deployment.target == target).order_by(Deployment.id.desc())
    ).all()
    if not rows or rows[0].previous_version_id is None:
        raise Conflict(f"Nothing to roll back to for {target!r}.")
    previous = db.session.get(ModelVersion, rows[0].previous_version_id)
    earlier = next((r for r in rows[1:] if r.model_version_id == previous.id), None)
    db.session.add(
        Deployment(
            target=target,
            model_version_id=previous.id,
            action="rollback",
            actor=actor,
            previous_version_id=earlier.previous_version_id if earlier else None,
            reason=f"rolled back from {rows[0].model_version.version}",
        )
    )
    return previous


def describe(mv: ModelVersion, deployed_id: int | None) -> dict:
    """The API's view of a version."""
    from webapp.tables.columns import iso

    return {
        "version": mv.version,
        "created": iso(mv.created),
        "metrics": mv.metrics,
        "kind": mv.kind,
        "deployed": mv.id == deployed_id,
        "sha256": mv.sha256,
        "size_bytes": mv.size_bytes,
        "parent": mv.parent.version if mv.parent else None,
        "data_counts": mv.data_counts,
        "created_by": mv.created_by,
        "job_id": mv.job_id,
        "verdict": _verdict(mv),
    }


def _verdict(mv: ModelVersion) -> dict | None:
    """The retrain's outcome in plain words, as its job recorded it (None for imports, bootstraps)."""
    job = db.session.get(Job, mv.job_id) if mv.job_id else None
    result = (job.result or {}) if job is not None else {}
    return result.get("plain") if result.get("model_version") == mv.version else None
