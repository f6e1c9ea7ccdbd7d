"""Media storage settings, read from an environment mapping when a caller asks (never at import).

Callers build settings once (``settings_from_env()``) and inject them: ``open_store(settings)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from media_store.policy import MB, MediaLimits

_Getter = Callable[[str], "str | None"]

#: The handoff API serves this folder as it is (``/static``, ``/widget``, ``/console``).
WEB_ROOT = Path(__file__).resolve().parents[1] / "handoff_api" / "static"


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    #: ``None`` for AWS itself; e.g. ``http://127.0.0.1:9000`` for MinIO or another S3-compatible
    #: server.
    endpoint_url: str | None = None
    region: str = "us-east-1"
    #: Object names start with this (e.g. ``atiende/media/``) so one bucket can serve several uses.
    prefix: str = "media/"
    #: ``None`` lets boto3 find credentials itself (AWS_* variables, profile, instance role).
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    #: ``path`` for most self-hosted servers (MinIO, Ceph, moto); ``virtual`` or ``auto`` for AWS.
    addressing_style: str = "auto"


@dataclass(frozen=True)
class MediaSettings:
    backend: str = "local"
    #: The local backend's folder: files and ``index.sqlite3``. Keep it outside any web root.
    directory: Path = Path("var/media")
    limits: MediaLimits = field(default_factory=MediaLimits)
    s3: S3Settings | None = None


def settings_from_env(env: Mapping[str, str] | None = None) -> MediaSettings:
    """Settings from ``env`` (default ``os.environ``); ``ValueError`` naming the variable when a
    value is wrong, so a misconfigured service refuses to start instead of losing files later."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    backend = (get("MEDIA_BACKEND") or "local").lower()
    if backend not in ("local", "s3"):
        raise ValueError(f"MEDIA_BACKEND must be 'local' or 's3', got {backend!r}")

    data_dir = Path(get("ATIENDE_DATA_DIR") or "var")
    directory = Path(get("MEDIA_DIR") or data_dir / "media")
    if directory.resolve().is_relative_to(WEB_ROOT):
        raise ValueError(f"MEDIA_DIR must be outside the web root {WEB_ROOT}")

    defaults = MediaLimits()
    limits = MediaLimits(
        image=_megabytes(get, "MEDIA_MAX_IMAGE_MB", defaults.image),
        document=_megabytes(get, "MEDIA_MAX_DOCUMENT_MB", defaults.document),
        audio=_megabytes(get, "MEDIA_MAX_AUDIO_MB", defaults.audio),
        video=_megabytes(get, "MEDIA_MAX_VIDEO_MB", defaults.video),
        image_pixels=_positive_int(get, "MEDIA_MAX_IMAGE_PIXELS", defaults.image_pixels),
    )

    s3 = None
    if backend == "s3":
        bucket = get("MEDIA_S3_BUCKET")
        if not bucket:
            raise ValueError("MEDIA_BACKEND=s3 needs MEDIA_S3_BUCKET")
        style = (get("MEDIA_S3_ADDRESSING_STYLE") or "auto").lower()
        if style not in ("auto", "path", "virtual"):
            raise ValueError("MEDIA_S3_ADDRESSING_STYLE must be auto, path or virtual")
        key_id, secret = get("MEDIA_S3_ACCESS_KEY_ID"), get("MEDIA_S3_SECRET_ACCESS_KEY")
        if bool(key_id) != bool(secret):
            raise ValueError(
                "set both MEDIA_S3_ACCESS_KEY_ID and MEDIA_S3_SECRET_ACCESS_KEY, or neither"
            )
        prefix = get("MEDIA_S3_PREFIX") or "media/"
        if not prefix.endswith("/"):
            prefix += "/"
        s3 = S3Settings(
            bucket=bucket,
            endpoint_url=get("MEDIA_S3_ENDPOINT"),
            region=get("MEDIA_S3_REGION") or "us-east-1",
            prefix=prefix.lstrip("/"),
            access_key_id=key_id,
            secret_access_key=secret,
            addressing_style=style,
        )
    return MediaSettings(backend=backend, directory=directory, limits=limits, s3=s3)


def _megabytes(get: _Getter, name: str, default: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of megabytes, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return int(value * MB)


def _positive_int(get: _Getter, name: str, default: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value
