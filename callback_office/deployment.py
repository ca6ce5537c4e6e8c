"""Production settings read from the environment (used by settings.py; plumbing only).

Everything here is a pure function of `os.environ` so that tests can resolve the settings of a
configuration without starting Django: `secret_key`, `media_storage`, `archive_storage`, `email_settings`,
`replica_database`, `logging_config`. Nothing imports an app.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from callback_office.env import env_bool, env_int, env_str

DEV_SECRET_KEY = "dev-insecure-only-for-local-demo-and-tests-0123456789abcdef"
S3_BACKEND = "storages.backends.s3.S3Storage"
LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"
ARCHIVE_BACKEND = "callback_office.media.RecordingArchiveStorage"


def secret_key(*, production: bool) -> str:
    """SECRET_KEY; in production it must be set, not the development key, and long enough
    for `check --deploy` (50+ characters, 5+ distinct). Fails loudly otherwise."""
    value = os.environ.get("SECRET_KEY", "")
    if not production:
        return value or DEV_SECRET_KEY
    if not value:
        raise ImproperlyConfigured("PRODUCTION=1 needs SECRET_KEY (50+ random characters)")
    if value == DEV_SECRET_KEY or value.startswith("django-insecure-"):
        raise ImproperlyConfigured("PRODUCTION=1 refuses the development SECRET_KEY")
    if len(value) < 50 or len(set(value)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must have at least 50 characters, 5 of them distinct")
    return value


def media_storage() -> dict[str, Any]:
    """STORAGES["default"]: local disk (MEDIA_ROOT) by default; S3-compatible object storage
    (AWS S3, MinIO, Ceph ...) through django-storages when MEDIA_STORAGE=s3."""
    kind = env_str("MEDIA_STORAGE", "local").lower()
    if kind == "local":
        return {"BACKEND": LOCAL_BACKEND}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'local' or 's3', got {kind!r}")
    bucket = os.environ.get("AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": env_str("AWS_LOCATION", "media"),
        # Uploaded materials and recordings are personal data: private objects, signed URLs
        # that expire, never overwrite an existing key.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
        "file_overwrite": False,
    }
    for option, variable in (
        ("endpoint_url", "AWS_S3_ENDPOINT_URL"),
        ("region_name", "AWS_S3_REGION_NAME"),
        ("access_key", "AWS_ACCESS_KEY_ID"),
        ("secret_key", "AWS_SECRET_ACCESS_KEY"),
        ("addressing_style", "AWS_S3_ADDRESSING_STYLE"),
    ):
        if os.environ.get(variable):
            options[option] = os.environ[variable]
    if "endpoint_url" in options and "addressing_style" not in options:
        # MinIO and most self-hosted S3 servers want path-style URLs.
        options["addressing_style"] = "path"
    # Presigned download URLs (MEDIA_DOWNLOAD_REDIRECT): SigV4, which every S3 region and MinIO
    # accept (botocore would otherwise sign some endpoints with the legacy SigV2).
    options["signature_version"] = env_str("AWS_S3_SIGNATURE_VERSION", "s3v4")
    # Objects read through the app (streamed downloads, the retention move) spill to a
    # temporary file past this size instead of staying in memory.
    options["max_memory_size"] = env_int("AWS_S3_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def archive_storage() -> dict[str, Any]:
    """STORAGES["archive"]: where recordings go after the five-month retention. Local disk
    (RECORDING_ARCHIVE_ROOT) by default; with MEDIA_STORAGE=s3 the same object store, under
    the prefix AWS_ARCHIVE_LOCATION (default "archive") of AWS_ARCHIVE_BUCKET_NAME (default:
    the media bucket), optionally in a cheaper AWS_ARCHIVE_STORAGE_CLASS (e.g. STANDARD_IA)."""
    media = media_storage()
    if media["BACKEND"] != S3_BACKEND:
        return {"BACKEND": ARCHIVE_BACKEND}
    options = dict(media["OPTIONS"])
    options["bucket_name"] = env_str("AWS_ARCHIVE_BUCKET_NAME", options["bucket_name"])
    options["location"] = env_str("AWS_ARCHIVE_LOCATION", "archive")
    if (
        options["bucket_name"] == media["OPTIONS"]["bucket_name"]
        and options["location"] == media["OPTIONS"]["location"]
    ):
        raise ImproperlyConfigured("AWS_ARCHIVE_LOCATION must differ from AWS_LOCATION in the same bucket")
    storage_class = os.environ.get("AWS_ARCHIVE_STORAGE_CLASS")
    if storage_class:
        options["object_parameters"] = {"StorageClass": storage_class}
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def email_settings() -> dict[str, Any]:
    """E-mail from EMAIL_URL (smtp://user:pass@host:587?tls=1, smtps://..., console://) or
    the separate EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD /
    EMAIL_USE_TLS / EMAIL_USE_SSL variables. Without either, mail goes to the console."""
    sender = env_str("DEFAULT_FROM_EMAIL", "回访办 <noreply@localhost>")
    out: dict[str, Any] = {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": 25,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "DEFAULT_FROM_EMAIL": sender,
        "SERVER_EMAIL": env_str("SERVER_EMAIL", sender),
    }
    url = os.environ.get("EMAIL_URL")
    if url:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.scheme == "console":
            return out
        if parts.scheme not in {"smtp", "smtps", "smtp+tls"}:
            raise ImproperlyConfigured(f"EMAIL_URL scheme must be smtp, smtp+tls, smtps or console: {url!r}")
        use_ssl = parts.scheme == "smtps" or query.get("ssl") in {"1", "true"}
        use_tls = parts.scheme == "smtp+tls" or query.get("tls") in {"1", "true"}
        out.update(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=parts.port or (465 if use_ssl else 587 if use_tls else 25),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_SSL=use_ssl,
            EMAIL_USE_TLS=use_tls,
        )
        return out
    if os.environ.get("EMAIL_HOST"):
        out.update(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=os.environ["EMAIL_HOST"],
            EMAIL_PORT=env_int("EMAIL_PORT", 25),
            EMAIL_HOST_USER=env_str("EMAIL_HOST_USER", ""),
            EMAIL_HOST_PASSWORD=env_str("EMAIL_HOST_PASSWORD", ""),
            EMAIL_USE_TLS=env_bool("EMAIL_USE_TLS", default=False),
            EMAIL_USE_SSL=env_bool("EMAIL_USE_SSL", default=False),
        )
    return out


def replica_database(default: dict[str, Any]) -> dict[str, Any] | None:
    """The "replica" alias from DATABASE_REPLICA_URL (a streaming read replica of the primary),
    or None. Tests mirror it onto the default database; migrations never run on it."""
    import dj_database_url

    url = os.environ.get("DATABASE_REPLICA_URL")
    if not url:
        return None
    config = dj_database_url.parse(
        url, conn_max_age=default.get("CONN_MAX_AGE", 600), conn_health_checks=True
    )
    config["TEST"] = {"MIRROR": "default"}
    return config


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, process, and
    any `extra={...}` fields; exceptions as a `exc_info` string. For log shippers (LOG_FORMAT=json)."""

    RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in self.RESERVED and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def logging_config() -> dict[str, Any]:
    """Console logging; JSON lines when LOG_FORMAT=json, plain text otherwise."""
    fmt = env_str("LOG_FORMAT", "plain").lower()
    if fmt not in {"plain", "json"}:
        raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', got {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "callback_office.deployment.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt}},
        "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
