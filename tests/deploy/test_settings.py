"""Production settings: check --deploy, the secret-key guard, storage/e-mail/log/replica
resolution from the environment, and the health endpoint."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import InvalidStorageError, StorageHandler
from django.db import connection
from django.test import override_settings

from callback_office import deployment
from callback_office.dbrouting import ReplicaRouter, replica_alias, using_replica

ROOT = Path(__file__).resolve().parents[2]
PROD_KEY = secrets.token_urlsafe(60)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRODUCTION", "SECRET_KEY", "MEDIA_", "DJANGO_"))
    }
    base.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.sqlite
def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        PRODUCTION="1",
        DEBUG="0",
        SECRET_KEY=PROD_KEY,
        ALLOWED_HOSTS="example.edu",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.sqlite
def test_production_without_secret_key_fails_loudly():
    result = manage("check", PRODUCTION="1", ALLOWED_HOSTS="example.edu")
    assert result.returncode != 0
    assert "ImproperlyConfigured: PRODUCTION=1 needs SECRET_KEY" in result.stderr


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "PRODUCTION=1 needs SECRET_KEY"),
        (deployment.DEV_SECRET_KEY, "refuses the development SECRET_KEY"),
        ("django-insecure-" + "x" * 60, "refuses the development SECRET_KEY"),
        ("short-key", "at least 50 characters"),
        ("a" * 60, "5 of them distinct"),
    ],
)
def test_production_refuses_a_weak_or_development_secret_key(monkeypatch, key, message):
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ImproperlyConfigured, match=message):
        deployment.secret_key(production=True)


@pytest.mark.sqlite
def test_development_falls_back_to_the_dev_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert deployment.secret_key(production=False) == deployment.DEV_SECRET_KEY
    monkeypatch.setenv("SECRET_KEY", PROD_KEY)
    assert deployment.secret_key(production=True) == PROD_KEY


@pytest.mark.sqlite
def test_settings_module_picks_s3_media_storage_when_configured():
    code = (
        "from django.conf import settings; from django.core.files.storage import storages;"
        "d = storages['default'];"
        "print(type(d).__module__ + '.' + type(d).__name__, d.bucket_name, d.endpoint_url, d.location,"
        " settings.STORAGES['staticfiles']['BACKEND'])"
    )
    result = manage(
        "shell",
        "-c",
        code,
        PRODUCTION="1",
        SECRET_KEY=PROD_KEY,
        ALLOWED_HOSTS="example.edu",
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="callback-media",
        AWS_S3_ENDPOINT_URL="http://minio.internal:9000",
        AWS_ACCESS_KEY_ID="k",
        AWS_SECRET_ACCESS_KEY="s",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "storages.backends.s3.S3Storage",
        "callback-media",
        "http://minio.internal:9000",
        "media",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]


@pytest.mark.sqlite
def test_media_storage_resolution(monkeypatch):
    for var in ("MEDIA_STORAGE", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_REGION_NAME"):
        monkeypatch.delenv(var, raising=False)
    assert deployment.media_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}

    monkeypatch.setenv("MEDIA_STORAGE", "s3")
    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        deployment.media_storage()

    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "b")
    monkeypatch.setenv("AWS_S3_REGION_NAME", "cn-north-1")
    config = deployment.media_storage()
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["OPTIONS"]["bucket_name"] == "b"
    assert config["OPTIONS"]["region_name"] == "cn-north-1"
    assert config["OPTIONS"]["default_acl"] is None
    assert config["OPTIONS"]["querystring_auth"] is True
    assert config["OPTIONS"]["file_overwrite"] is False
    assert "addressing_style" not in config["OPTIONS"]

    # The class resolves and instantiates without any network access.
    handler = StorageHandler({"default": config})
    storage = handler["default"]
    assert type(storage).__name__ == "S3Storage"
    assert storage.bucket_name == "b"

    monkeypatch.setenv("MEDIA_STORAGE", "ftp")
    with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE"):
        deployment.media_storage()
    with pytest.raises(InvalidStorageError):
        StorageHandler({})["default"]


@pytest.mark.sqlite
def test_email_settings(monkeypatch):
    for var in ("EMAIL_URL", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    assert deployment.email_settings()["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"

    monkeypatch.setenv("EMAIL_URL", "smtp+tls://hfb%40example.edu:p%40ss@smtp.example.edu")
    mail = deployment.email_settings()
    assert mail["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (mail["EMAIL_HOST"], mail["EMAIL_PORT"]) == ("smtp.example.edu", 587)
    assert (mail["EMAIL_HOST_USER"], mail["EMAIL_HOST_PASSWORD"]) == ("hfb@example.edu", "p@ss")
    assert (mail["EMAIL_USE_TLS"], mail["EMAIL_USE_SSL"]) == (True, False)

    monkeypatch.setenv("EMAIL_URL", "smtps://smtp.example.edu")
    mail = deployment.email_settings()
    assert (mail["EMAIL_PORT"], mail["EMAIL_USE_SSL"]) == (465, True)

    monkeypatch.delenv("EMAIL_URL")
    monkeypatch.setenv("EMAIL_HOST", "mail.local")
    monkeypatch.setenv("EMAIL_PORT", "2525")
    monkeypatch.setenv("EMAIL_USE_TLS", "1")
    mail = deployment.email_settings()
    assert (mail["EMAIL_HOST"], mail["EMAIL_PORT"], mail["EMAIL_USE_TLS"]) == ("mail.local", 2525, True)

    monkeypatch.setenv("EMAIL_URL", "imap://x")
    with pytest.raises(ImproperlyConfigured):
        deployment.email_settings()


@pytest.mark.sqlite
def test_json_log_formatter_writes_one_object_per_line(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert deployment.logging_config()["handlers"]["console"]["formatter"] == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ImproperlyConfigured):
        deployment.logging_config()

    record = logging.LogRecord("callbacks.services", logging.WARNING, __file__, 1, "领取 %d 名", (5,), None)
    record.caller_id = 17
    line = deployment.JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "领取 5 名"
    assert data["level"] == "WARNING"
    assert data["logger"] == "callbacks.services"
    assert data["caller_id"] == 17
    assert data["time"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(deployment.JsonFormatter().format(record))["exc_info"]


@pytest.mark.sqlite
def test_replica_is_used_only_when_asked(monkeypatch):
    router = ReplicaRouter()
    assert "replica" not in settings.DATABASES
    assert replica_alias() == "default"
    with using_replica() as alias:
        assert alias == "default"
        assert router.db_for_read(None) == "default"
    assert router.db_for_read(None) is None

    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@replica.internal:5432/callback_office")
    replica = deployment.replica_database({"CONN_MAX_AGE": 600})
    assert (replica["HOST"], replica["NAME"], replica["TEST"]) == (
        "replica.internal",
        "callback_office",
        {"MIRROR": "default"},
    )
    with override_settings(DATABASES={**settings.DATABASES, "replica": replica}):
        assert replica_alias() == "replica"
        assert router.db_for_read(None) is None
        with using_replica() as alias:
            assert alias == "replica"
            assert router.db_for_read(None) == "replica"
            assert router.db_for_write(None) == "default"
        assert router.db_for_read(None) is None
    assert router.allow_migrate("replica", "admissions") is False
    assert router.allow_migrate("default", "admissions") is True


@pytest.mark.sqlite
def test_health_ok(client, db, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["redis"] in {"ok", "down"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.sqlite
def test_health_reports_redis_down_without_failing(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "redis": "down"}


@pytest.mark.redis
def test_health_reports_redis_up(client, db, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.sqlite
def test_health_is_503_when_the_database_is_down(client, db, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken_cursor)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["status"] == "down"


@pytest.mark.sqlite
def test_gunicorn_config_reads_the_environment(monkeypatch):
    import runpy

    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    monkeypatch.setenv("LOG_FORMAT", "json")
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert (config["workers"], config["bind"], config["worker_class"]) == (7, "0.0.0.0:9000", "sync")
    assert config["preload_app"] is True
    assert config["wsgi_app"] == "callback_office.wsgi:application"
    # the JSON access-log format is a valid JSON object once gunicorn fills in the atoms
    filled = re.sub(r"%\([^)]*\)s", "x", config["access_log_format"])
    assert set(json.loads(filled)) >= {"time", "method", "path", "status", "duration_us", "request_id"}

    monkeypatch.setenv("GUNICORN_THREADS", "4")
    monkeypatch.delenv("LOG_FORMAT")
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread"
    assert config["access_log_format"].startswith("%({x-forwarded-for}i)s")


@pytest.mark.sqlite
def test_gunicorn_accepts_the_config():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "callback_office.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.sqlite
def test_log_format_json_makes_every_log_line_json():
    code = (
        "import logging;"
        "logging.getLogger('callbacks.services').warning('领取 %s 名', 5, extra={'caller_id': 3})"
    )
    result = manage("shell", "-v", "0", "-c", code, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    assert (line["logger"], line["level"], line["message"], line["caller_id"]) == (
        "callbacks.services",
        "WARNING",
        "领取 5 名",
        3,
    )


@pytest.mark.sqlite
def test_health_is_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
