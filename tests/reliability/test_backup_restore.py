"""Backup and restore (scripts/backup.sh, scripts/restore.sh) give back a season exactly.

A throwaway database gets a demo season (candidates, callers, teams, contacts, payments,
withdrawals, supervision, subsidies…) plus uploaded files (nested folders, Chinese names, binary
content) in MEDIA_ROOT and the recordings archive. backup.sh dumps it; restore.sh loads the dump
into a second, empty database and the files into empty directories. Then every table of both
databases is compared row by row (count + md5 over every row's text, in a fixed order), every
sequence's position, and every file (relative path + SHA-256).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.deploy.test_multiprocess import ROOT, fresh_database

SEED = (
    "from django.core.management import call_command as c; c('migrate', verbosity=0);"
    "c('seed_demo', candidates=300, callers=20, teams=2, no_previous=True, verbosity=0)"
)


def run(cmd: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def table_fingerprints(db: dict) -> dict[str, tuple[int, str]]:
    """Every table of the public schema: (row count, md5 of all rows as text, sorted)."""
    with psycopg.connect(**db) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            rows_md5 = "coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '')"
            out[t] = conn.execute(f'SELECT count(*), {rows_md5} FROM "{t}" x').fetchone()
        return out


def sequence_positions(db: dict) -> dict[str, int | None]:
    with psycopg.connect(**db) as conn:
        rows = conn.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        return dict(rows.fetchall())


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def add_files(media: Path, archive: Path) -> None:
    """Uploads of the kinds the app stores, next to whatever the demo wrote."""
    files = {
        media / "withdrawals" / "2023" / "3f2a9c.jpg": os.urandom(40_000),
        media / "supervision" / "recordings" / "2023" / "录音-第一组.m4a": os.urandom(120_000),
        media / "reports" / "weekly" / "1" / "第一组周报.xlsx": b"PK\x03\x04" + os.urandom(5_000),
        media / "reports" / "exports" / "empty.xlsx": b"",
        archive / "2023" / "old-recording.mp3": os.urandom(30_000),
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_backup_and_restore_give_back_the_season_exactly(tmp_path):
    with fresh_database() as (source_url, source), fresh_database() as (target_url, target):
        var = tmp_path / "var"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PRODUCTION", "DJANGO_ALLOW"))},
            "DJANGO_SETTINGS_MODULE": "callback_office.settings",
            "DATABASE_URL": source_url,
            "CALLBACK_VAR_DIR": str(var),
            "MEDIA_ROOT": str(var / "media"),
            "RECORDING_ARCHIVE_ROOT": str(var / "archive"),
        }
        seeded = run([sys.executable, "manage.py", "shell", "-c", SEED], env)
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        add_files(var / "media", var / "archive")
        before = table_fingerprints(source)
        sequences = sequence_positions(source)
        media_before = file_hashes(var / "media")
        archive_before = file_hashes(var / "archive")

        started = time.monotonic()
        backup = run(["scripts/backup.sh", str(tmp_path / "backup")], env)
        backup_seconds = time.monotonic() - started
        assert backup.returncode == 0, backup.stderr
        made = tmp_path / "backup"
        assert sorted(p.name for p in made.iterdir()) == [
            "MANIFEST",
            "SHA256SUMS",
            "archive.tar.gz",
            "db.dump",
            "media.tar.gz",
        ]
        assert not (tmp_path / "backup.partial").exists()

        restored = tmp_path / "restored"
        restore_env = {
            **env,
            "DATABASE_URL": target_url,
            "MEDIA_ROOT": str(restored / "media"),
            "RECORDING_ARCHIVE_ROOT": str(restored / "archive"),
        }
        started = time.monotonic()
        result = run(["scripts/restore.sh", str(made)], restore_env)
        restore_seconds = time.monotonic() - started
        assert result.returncode == 0, result.stderr

        after = table_fingerprints(target)
        assert after == before  # every table, every row
        assert sequence_positions(target) == sequences  # new rows continue where they left off
        assert file_hashes(restored / "media") == media_before
        assert file_hashes(restored / "archive") == archive_before
        season_tables = {t: n for t, (n, _) in before.items() if n}
        assert before["admissions_candidate"][0] == 300
        assert before["callbacks_contactlog"][0] > 0

        # the restored database is a working one: Django sees no missing migration
        check = run(
            [sys.executable, "manage.py", "migrate", "--check", "--noinput"], {**restore_env, "DEBUG": "0"}
        )
        assert check.returncode == 0, check.stdout + check.stderr

        # a second restore over it is refused, and changes nothing
        again = run(["scripts/restore.sh", str(made)], restore_env)
        assert again.returncode == 2 and "not empty" in again.stderr
        assert table_fingerprints(target) == before

        # a damaged backup is refused before anything is written
        dump = made / "db.dump"
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
        with fresh_database() as (third_url, third):
            damaged = run(
                ["scripts/restore.sh", str(made)],
                {**restore_env, "DATABASE_URL": third_url, "MEDIA_ROOT": str(tmp_path / "m3")},
            )
            assert damaged.returncode == 2 and "damaged" in damaged.stderr
            assert table_fingerprints(third) == {}
        assert not (tmp_path / "m3").exists()

        rows = sum(n for n, _ in before.values())
        size = sum(p.stat().st_size for p in made.iterdir())
        print(
            f"\n{len(before)} tables ({len(season_tables)} with rows), {rows} rows, "
            f"{len(media_before) + len(archive_before)} files; backup {size / 1e6:.1f} MB in "
            f"{backup_seconds:.1f} s, restore {restore_seconds:.1f} s; 0 differences"
        )


pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
