"""Configuration: every setting is read from the environment here, typed, with its default
(the README's configuration table lists each one)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        make_private_dir(instance)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        write_private(tmp, secrets.token_hex(32))
        os.replace(tmp, path)  # atomic: concurrent workers agree on one key
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a key others can read lets them forge sessions
    return path.read_text().strip()


def make_private_dir(path: Path) -> None:
    """Create `path` (and parents) readable by this user only when it does not exist yet."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)


def write_private(path: Path, text: str) -> None:
    """Write `text` to a new file created with mode 0600 (never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def touch_private(path: str | Path) -> None:
    """Create an empty file with mode 0600 if missing (SQLite then keeps those permissions)."""
    path = Path(path)
    make_private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _flag(name: str, default: bool = False) -> bool:
    value = (os.environ.get(name) or "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def _float(name: str, default: float | None) -> float | None:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _int(name: str, default: int | None) -> int | None:
    value = _float(name, default)
    return None if value is None else int(value)


def _text(name: str, default: str | None = None) -> str | None:
    """The variable's value; `default` when it is unset or empty."""
    return os.environ.get(name) or default


# Config keys set from an environment variable of another name (the README lists the variable).
VARIABLE_OF = {
    "INSTANCE_DIR": "INSTANCE_PATH",
    "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
    "MAX_CONTENT_LENGTH": "MAX_UPLOAD_MB",
    "SESSION_COOKIE_SECURE": "SECURE_COOKIES",
    "REMEMBER_COOKIE_SECURE": "SECURE_COOKIES",
}
# Settings of Flask and its extensions fixed here, not read from the environment.
FIXED = (
    "SQLALCHEMY_ENGINE_OPTIONS",
    "WTF_CSRF_TIME_LIMIT",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "MAX_FORM_PARTS",
    "PERMANENT_SESSION_LIFETIME",
)


def load_config() -> dict:
    """Build the Flask config mapping from environment variables and their defaults.

    The one place settings and their defaults live: the rest of the app reads
    `current_app.config["KEY"]`, never the environment and never a default of its own.
    """
    instance = Path(_text("INSTANCE_PATH", str(REPO_ROOT / "instance")))
    max_mb = _float("MAX_UPLOAD_MB", 10)
    secure_cookies = _flag("SECURE_COOKIES")
    session_hours = _float("SESSION_HOURS", 12)
    return {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": _text("DATABASE_URL", f"sqlite:///{instance / 'app.db'}"),
        "STORAGE_URL": _text("STORAGE_URL", f"file://{instance / 'storage'}"),
        "S3_ENDPOINT_URL": _text("S3_ENDPOINT_URL"),
        "REDIS_URL": _text("REDIS_URL"),
        "QUEUE_PREFIX": _text("QUEUE_PREFIX", "celebvision"),
        "QUEUE_PATH": _text("QUEUE_PATH", str(instance / "queue.db")),
        "QUEUE_POLL_SECONDS": _float("QUEUE_POLL_SECONDS", 0.05),
        "JOB_STALE_SECONDS": _float("JOB_STALE_SECONDS", 60),
        # How often a worker looks for such jobs (at most; never less often than JOB_STALE_SECONDS).
        "JOB_RECOVERY_SECONDS": _float("JOB_RECOVERY_SECONDS", 30),
        # Time limits per job kind: past it a job ends failed, "took longer than N s".
        "STYLE_JOB_SECONDS": _float("STYLE_JOB_SECONDS", 300),
        "NST_JOB_SECONDS": _float("NST_JOB_SECONDS", 1800),
        # the most optimiser evaluations one nst picture may spend (its CPU cost); unset: nst's
        # own cap (ml.style.nst.MAX_EVALS)
        "NST_MAX_EVALS": _int("NST_MAX_EVALS", None),
        "TRAIN_JOB_SECONDS": _float("TRAIN_JOB_SECONDS", 6 * 3600),
        "IMPORT_JOB_SECONDS": _float("IMPORT_JOB_SECONDS", 1800),
        # What one console import (a zip, or pictures dropped per label) may unpack to.
        "IMPORT_MAX_MB": _int("IMPORT_MAX_MB", 1024),
        "MODEL_CACHE_DIR": _text("MODEL_CACHE_DIR", str(instance / "model-cache")),
        "PRETRAINED_CACHE_DIR": _text("PRETRAINED_CACHE_DIR"),
        "ADMIN_USERNAME": _text("ADMIN_USERNAME"),
        "ADMIN_PASSWORD": _text("ADMIN_PASSWORD"),
        "MAX_UPLOAD_MB": max_mb,
        "MAX_CONTENT_LENGTH": int(max_mb * 1024 * 1024),
        # 16 MP holds a 12 MP phone photo; every model here works at <= 1024 px, and a 40 MP
        # RGBA image costs seconds and ~0.5 GB of a web worker to decode.
        "MAX_IMAGE_PIXELS": _int("MAX_IMAGE_PIXELS", 16_000_000),
        # A 1 x 16,000,000 PNG is 31 KB and costs seconds to decode: sides and shape are capped too.
        "MAX_IMAGE_SIDE": _int("MAX_IMAGE_SIDE", 12_000),
        "MAX_IMAGE_ASPECT": _float("MAX_IMAGE_ASPECT", 10.0),
        "MAX_QUEUED_PER_CLIENT": _int("MAX_QUEUED_PER_CLIENT", 3),
        "MAX_STYLE_SIZE": _int("MAX_STYLE_SIZE", 1024),
        # A request's head must arrive within this many seconds, and its body at no less than
        # REQUEST_BODY_MIN_RATE bytes/s over every stretch this long (else 408): webapp/ops/front.py.
        "REQUEST_BODY_SECONDS": _float("REQUEST_BODY_SECONDS", 10),
        "REQUEST_BODY_MIN_RATE": _int("REQUEST_BODY_MIN_RATE", 2000),
        # Open connections one client address (an IPv6 /64) may hold on this server; trusted
        # proxies (PROXY_COUNT > 0) are not counted.
        "CONNECTIONS_PER_ADDRESS": _int("CONNECTIONS_PER_ADDRESS", 32),
        "RATE_LIMIT_UPLOADS": _text("RATE_LIMIT_UPLOADS", "60/minute"),
        "RATE_LIMIT_FEEDBACK": _text("RATE_LIMIT_FEEDBACK", "120/minute"),
        "RATE_LIMIT_LOGIN": _text("RATE_LIMIT_LOGIN", "10/minute"),
        "RATE_LIMIT_LOGIN_USER": _text("RATE_LIMIT_LOGIN_USER", "30/hour"),
        "STORAGE_QUOTA_MB": _float("STORAGE_QUOTA_MB", 200),
        "STORAGE_QUOTA_DAYS": _float("STORAGE_QUOTA_DAYS", 1),
        "RETAIN_UNLABELLED_DAYS": _float("RETAIN_UNLABELLED_DAYS", 30),
        "METRICS_TOKEN": _text("METRICS_TOKEN"),
        "METRICS_PUBLIC": _flag("METRICS_PUBLIC"),
        "SESSION_HOURS": session_hours,
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=session_hours),
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        # Peers whose X-Forwarded-* headers count (with PROXY_COUNT > 0): addresses or networks.
        "FORWARDED_ALLOW_IPS": _text("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        "HSTS_SECONDS": _int("HSTS_SECONDS", 0),
        "TRAIN_CONFIG": _text("TRAIN_CONFIG", str(REPO_ROOT / "ml" / "configs" / "default.yaml")),
        "STYLE_WEIGHTS": _text("STYLE_WEIGHTS", "hed"),
        "STYLE_WARMUP": _text("STYLE_WARMUP", "1") != "0",
        "SHIPPED_FACE_MODELS": _text("SHIPPED_FACE_MODELS", "1") != "0",
        "NEW_TASK_FEATURES": _text("NEW_TASK_FEATURES", "face"),
        "STYLE_FINETUNE_STEPS": _int("STYLE_FINETUNE_STEPS", 200),
        "STYLE_FINETUNE_SIZE": _int("STYLE_FINETUNE_SIZE", 256),
        "STYLE_JUDGE_SIZE": _int("STYLE_JUDGE_SIZE", 256),
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # every form here has a handful of fields; Flask's default lets a request carry 1,000
        "MAX_FORM_PARTS": 100,
    }
