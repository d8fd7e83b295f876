"""Configuration, read from the environment in one place (CONTRACT.md section 2)."""
from __future__ import annotations

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
        instance.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        os.replace(tmp, path)  # atomic: concurrent workers agree on one key
    return path.read_text().strip()


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def load_config() -> dict:
    """Build the Flask config mapping from environment variables and safe defaults."""
    instance = Path(os.environ.get("INSTANCE_PATH", REPO_ROOT / "instance"))
    max_mb = _float("MAX_UPLOAD_MB", 10)
    return {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'app.db'}",
        "STORAGE_URL": os.environ.get("STORAGE_URL") or f"file://{instance / 'storage'}",
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "QUEUE_PREFIX": os.environ.get("QUEUE_PREFIX", "celebvision"),
        "QUEUE_PATH": os.environ.get("QUEUE_PATH") or str(instance / "queue.db"),
        "MODEL_CACHE_DIR": os.environ.get("MODEL_CACHE_DIR") or str(instance / "model-cache"),
        "PRETRAINED_CACHE_DIR": os.environ.get("PRETRAINED_CACHE_DIR") or None,
        "ADMIN_USERNAME": os.environ.get("ADMIN_USERNAME") or None,
        "ADMIN_PASSWORD": os.environ.get("ADMIN_PASSWORD") or None,
        "MAX_UPLOAD_MB": max_mb,
        "MAX_CONTENT_LENGTH": int(max_mb * 1024 * 1024),
        "MAX_IMAGE_PIXELS": int(_float("MAX_IMAGE_PIXELS", 40_000_000)),
        "MAX_STYLE_SIZE": int(_float("MAX_STYLE_SIZE", 1024)),
        "RATE_LIMIT_UPLOADS": os.environ.get("RATE_LIMIT_UPLOADS", "60/minute"),
        "RATE_LIMIT_FEEDBACK": os.environ.get("RATE_LIMIT_FEEDBACK", "120/minute"),
        "STYLE_WEIGHTS": os.environ.get("STYLE_WEIGHTS", "hed"),
        "STYLE_FINETUNE_STEPS": int(_float("STYLE_FINETUNE_STEPS", 200)),
        "TRAIN_CONFIG": os.environ.get("TRAIN_CONFIG", str(REPO_ROOT / "ml" / "configs" / "default.yaml")),
        "QUEUE_POLL_SECONDS": _float("QUEUE_POLL_SECONDS", 0.05),
        "STYLE_WARMUP": os.environ.get("STYLE_WARMUP", "1") != "0",
        "STYLE_FINETUNE_SIZE": int(_float("STYLE_FINETUNE_SIZE", 256)),
        "STYLE_JUDGE_SIZE": int(_float("STYLE_JUDGE_SIZE", 256)),
        "MODEL_POLL_SECONDS": _float("MODEL_POLL_SECONDS", 2.0),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }
