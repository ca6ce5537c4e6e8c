# ruff: noqa: E501  (tables of generated rows and report rows read better on one line)
"""Generate a benchmark season with PostgreSQL COPY (no ORM saves).

    .venv/bin/python -m bench.generate --scale office      # 10,000 candidates, 100 callers, ~60,000 contacts
    .venv/bin/python -m bench.generate --scale platform    # 1,000,000 / 10,000 / ~6,000,000

Recreates the database `bench_<scale>` on the bench server, migrates it, then loads one season:
31 province policies, teams of 10 callers (the first member leads), one user per caller (role
groups caller / leader, one password hash shared by all), an office user, the candidates split
evenly over the callers with one active assignment each, 2–10 contacts per candidate (mean 6) with
the denormalized summary (count, seconds, last contact) on the candidate, one phone per
candidate, 20 attendance days per caller, and an extra pool of unassigned candidates for the
claim benchmark. Foreign-key triggers are off during the load (the data is consistent by
construction); sequences are reset and the tables analysed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
import tempfile
import time

from bench.common import PASSWORD, ROOT, SCALES, SEASON_YEAR, Scale, db_name, db_url, setup_django

PROVINCES = [
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆",
    "四川", "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆",
]  # fmt: skip
GROUPS = ["caller", "leader", "supervisor", "strike", "office"]
STATUSES = [
    ("confirmed", 55), ("hesitant", 15), ("unreachable", 8), ("uncontacted", 5),
    ("refused", 7), ("withdrawal_requested", 5), ("withdrawn", 5),
]  # fmt: skip
OUTCOMES = ["connected", "connected", "connected", "no_answer", "powered_off", "rejected", "empty_number"]
CHANNELS = ["phone", "phone", "phone", "phone", "sms", "wechat", "qq"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
BATCHES = ["本科一批", "本科二批", "专科批"]
CHUNK = 50_000


def log(msg: str) -> None:
    print(f"[generate {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


def recreate_database(scale: str) -> None:
    import psycopg

    from bench.common import PG

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name(scale)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name(scale)}")
    env = {"DATABASE_URL": db_url(scale), "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "0"}
    import os

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", "--noinput"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


def _copy(cur, table: str, columns: list[str], rows) -> int:
    """COPY text rows (tuples of already-formatted strings, '\\N' for NULL) in chunks."""
    n = 0
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cur.copy(sql) as copy:
        buf: list[str] = []
        for row in rows:
            buf.append("\t".join(row))
            n += 1
            if len(buf) >= CHUNK:
                copy.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            copy.write("\n".join(buf) + "\n")
    return n


def _weighted(rng: random.Random, pairs: list[tuple[str, int]], k: int) -> list[str]:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


def load(scale: Scale, seed: int = 8) -> dict[str, int]:
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    rng = random.Random(seed)
    tz = dt.timezone(dt.timedelta(hours=8))
    now = dt.datetime(SEASON_YEAR, 8, 20, 12, 0, tzinfo=tz)
    ts_now = now.isoformat()
    password = make_password(PASSWORD)
    per_caller = scale.candidates // scale.callers
    n_callers = scale.callers
    n_teams = max(1, n_callers // 10)
    counts: dict[str, int] = {}

    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = False
    with raw.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no FK triggers during the load
        cur.execute("SET synchronous_commit = off")
        cur.execute(
            "INSERT INTO admissions_season (id, year, admission_start, admission_end, payment_close,"
            " registration_date, undergrad_basic_target, undergrad_target, junior_basic_target,"
            " junior_target, stage1_payment_target, stage2_payment_target, stage3_payment_target, created_at)"
            " VALUES (1, %s, %s, %s, %s, %s, 0.98, 0.985, 0.935, 0.95, 0.2, 0.6, 0.8, now())",
            (
                SEASON_YEAR,
                dt.date(SEASON_YEAR, 7, 10),
                dt.date(SEASON_YEAR, 8, 10),
                dt.date(SEASON_YEAR, 8, 31),
                dt.date(SEASON_YEAR, 9, 8),
            ),
        )
        counts["provinces"] = _copy(
            cur,
            "admissions_provincepolicy",
            ["id", "season_id", "province", "withdrawable", "phones_shielded", "new_gaokao"],
            (
                (str(i + 1), "1", p, "t" if i % 2 else "f", "f", "t" if i % 3 == 0 else "f")
                for i, p in enumerate(PROVINCES)
            ),
        )
        _copy(cur, "auth_group", ["id", "name"], ((str(i + 1), g) for i, g in enumerate(GROUPS)))
        group_id = {g: i + 1 for i, g in enumerate(GROUPS)}

        # users: 1 = office, caller k (1-based) = user k + 1
        def users():
            yield ("1", password, "t", "bench_office", "招生办", "", "", "t", "t", ts_now)
            for k in range(1, n_callers + 1):
                yield (str(k + 1), password, "f", f"b{k:06d}", f"回访员{k}", "", "", "f", "t", ts_now)

        counts["users"] = _copy(
            cur,
            "auth_user",
            [
                "id", "password", "is_superuser", "username", "first_name", "last_name", "email",
                "is_staff", "is_active", "date_joined",
            ],
            users(),
        )  # fmt: skip

        def is_leader(k: int) -> bool:
            return (k - 1) % 10 == 0

        def memberships():
            n = 1
            yield (str(n), "1", str(group_id["office"]))
            for k in range(1, n_callers + 1):
                n += 1
                yield (str(n), str(k + 1), str(group_id["caller"]))
                if is_leader(k):
                    n += 1
                    yield (str(n), str(k + 1), str(group_id["leader"]))

        _copy(cur, "auth_user_groups", ["id", "user_id", "group_id"], memberships())

        def team_of(k: int) -> int:
            return min((k - 1) // 10, n_teams - 1) + 1

        # teams first without leaders (callers reference teams), leaders set after
        counts["teams"] = _copy(
            cur,
            "callbacks_team",
            ["id", "season_id", "name", "kind", "leader_id", "sort_order"],
            (
                (str(t), "1", f"第{t}组", "regular", str((t - 1) * 10 + 1), str(t))
                for t in range(1, n_teams + 1)
            ),
        )
        counts["callers"] = _copy(
            cur,
            "callbacks_caller",
            [
                "id", "season_id", "user_id", "staff_no", "name", "kind", "department", "phone", "team_id",
                "is_supervisor", "is_strike", "qualification_status", "prev_excellent",
            ],
            (
                (
                    str(k), "1", str(k + 1), f"B{k:06d}", f"回访员{k}", "student" if k % 5 == 0 else "teacher",
                    "招生办", f"139{k:08d}", str(team_of(k)), "f", "f", "qualified", "f",
                )
                for k in range(1, n_callers + 1)
            ),
        )  # fmt: skip
        counts["attendance"] = _copy(
            cur,
            "callbacks_attendance",
            ["id", "caller_id", "day"],
            (
                (
                    str((k - 1) * 20 + d + 1),
                    str(k),
                    (dt.date(SEASON_YEAR, 7, 15) + dt.timedelta(days=d)).isoformat(),
                )
                for k in range(1, n_callers + 1)
                for d in range(20)
            ),
        )
        log(f"people loaded: {n_callers} callers in {n_teams} teams")

        # candidates, their phones, assignments and contacts, in one pass
        n_total = scale.candidates + scale.pool
        statuses = _weighted(rng, STATUSES, scale.candidates)
        contact_file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed below)
        next_contact_id = 1
        t0 = time.monotonic()

        def candidate_rows():
            nonlocal next_contact_id
            base = dt.datetime(SEASON_YEAR, 7, 12, 9, 0, tzinfo=tz)
            for i in range(1, n_total + 1):
                assigned = i <= scale.candidates
                prov = str((i * 7) % len(PROVINCES) + 1)
                level = "undergraduate" if i % 4 else "junior"
                name = (
                    SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 3) % len(GIVEN)]
                )
                if assigned:
                    caller = (i - 1) // per_caller + 1
                    status = statuses[i - 1]
                    n_contacts = rng.randint(2, 10)
                    seconds = 0
                    last = None
                    for _j in range(n_contacts):
                        at = base + dt.timedelta(minutes=rng.randrange(0, 38 * 24 * 60))
                        dur = rng.randrange(0, 600)
                        seconds += dur
                        if last is None or at > last:
                            last = at
                        contact_file.write(
                            f"{next_contact_id}\t{i}\t{min(caller, n_callers)}\t{at.isoformat()}\t"
                            f"{CHANNELS[next_contact_id % 7]}\t{dur}\t138{i:08d}\t{OUTCOMES[next_contact_id % 7]}\t"
                            f"none\t[]\t\t\t{ts_now}\n"
                        )
                        next_contact_id += 1
                    paid = status == "confirmed" and i % 5 != 0
                    enrolled = paid and i % 7 != 0
                    withdrawn = status == "withdrawn"
                    yield (
                        str(i), "1", f"{SEASON_YEAR % 100}{int(prov):02d}{i:010d}", name,
                        f"5101012008{i % 10000:04d}{i % 10}X"[:18], prov, level, "general",
                        BATCHES[i % 3], "计算机科学与技术", str(i % 6 + 1), f"第{i % 500}中学", "某市某街1号",
                        status, "f", "f",
                        f"{SEASON_YEAR}-08-{1 + i % 20:02d}" if paid else "\\N",
                        "5000.00" if paid else "\\N",
                        f"{SEASON_YEAR}-09-08" if enrolled else "\\N",
                        f"{SEASON_YEAR}-07-25" if withdrawn else "\\N",
                        str(n_contacts), str(seconds), last.isoformat(), ts_now, ts_now,
                    )  # fmt: skip
                else:
                    yield (
                        str(i), "1", f"{SEASON_YEAR % 100}{int(prov):02d}{i:010d}", name, "", prov, level, "general",
                        BATCHES[i % 3], "", "\\N", f"第{i % 500}中学", "", "uncontacted", "f", "t",
                        "\\N", "\\N", "\\N", "\\N", "0", "0", "\\N", ts_now, ts_now,
                    )  # fmt: skip

        counts["candidates"] = _copy(
            cur,
            "admissions_candidate",
            [
                "id", "season_id", "exam_number", "name", "id_number", "province_id", "level", "admission_type",
                "batch", "major", "preference_order", "high_school", "address", "status",
                "masters_track_interest", "in_pool", "paid_on", "payment_amount", "enrolled_on",
                "withdrawn_on", "contact_count", "contact_seconds", "last_contact_at", "created_at",
                "updated_at",
            ],
            candidate_rows(),
        )  # fmt: skip
        log(f"{counts['candidates']} candidates in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        n = 0
        with cur.copy(
            "COPY callbacks_contactlog (id, candidate_id, caller_id, contacted_at, channel, duration_seconds,"
            " phone_number, outcome, intent, risk_signals, notes, new_numbers, created_at) FROM STDIN"
        ) as copy:
            contact_file.seek(0)
            while block := contact_file.read(8 * 1024 * 1024):
                copy.write(block)
        n = counts["contacts"] = next_contact_id - 1
        contact_file.close()
        log(f"{n} contacts in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        counts["phones"] = _copy(
            cur,
            "admissions_candidatephone",
            ["id", "candidate_id", "number", "owner", "note", "added_at"],
            ((str(i), str(i), f"138{i:08d}", "self", "", ts_now) for i in range(1, n_total + 1)),
        )
        due = now - dt.timedelta(hours=2)
        counts["assignments"] = _copy(
            cur,
            "callbacks_assignment",
            ["id", "candidate_id", "caller_id", "source", "active", "assigned_at", "ended_reason", "next_call_at"],
            (
                (
                    str(i), str(i), str(min((i - 1) // per_caller + 1, n_callers)), "office", "t", ts_now, "",
                    due.isoformat() if i % 20 == 0 else "\\N",
                )
                for i in range(1, scale.candidates + 1)
            ),
        )  # fmt: skip
        log(f"phones + assignments in {time.monotonic() - t0:.1f} s")
        for table in [
            "auth_user", "auth_group", "auth_user_groups", "admissions_season", "admissions_provincepolicy",
            "admissions_candidate", "admissions_candidatephone", "callbacks_team", "callbacks_caller",
            "callbacks_attendance", "callbacks_assignment", "callbacks_contactlog",
        ]:  # fmt: skip
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        raw.commit()
    raw.autocommit = True
    with raw.cursor() as cur:
        t0 = time.monotonic()
        cur.execute("VACUUM ANALYZE")
        log(f"vacuum analyze in {time.monotonic() - t0:.1f} s")
        cur.execute("SELECT pg_database_size(current_database())")
        counts["database_bytes"] = cur.fetchone()[0]
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="office")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    started = time.monotonic()
    log(f"recreating {db_name(scale.name)} and migrating")
    recreate_database(scale.name)
    setup_django(scale.name)
    t0 = time.monotonic()
    counts = load(scale, seed=args.seed)
    load_s = time.monotonic() - t0
    log(f"loaded in {load_s:.1f} s (total with migrate {time.monotonic() - started:.1f} s): {counts}")
    import json

    out = ROOT / "bench" / "results" / f"generate-{scale.name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"scale": scale.name, "load_seconds": round(load_s, 1), **counts}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
