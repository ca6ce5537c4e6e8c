# ruff: noqa: E501  (tables of generated rows and report rows read better on one line)
"""Render a bench result (bench/results/<scale>.json) as a markdown section for BENCHMARKS.md.

.venv/bin/python -m bench.report office     # rewrites bench/results/office.md from the json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import ROOT

RESULTS = ROOT / "bench" / "results"


def _m(stat: dict | None, fmt: str = "{:.0f}") -> str:
    if not stat:
        return "—"
    return f"{fmt.format(stat['median'])} ({fmt.format(stat['min'])}–{fmt.format(stat['max'])})"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**pass**" if ok else "**FAIL**")


def goals(data: dict) -> list[tuple[str, str, str, str, bool | None]]:
    """(path, goal, measured, floor / limit, pass) rows for the scale in `data`."""
    web, batch, queries = data.get("web", {}), data.get("batch", {}), data.get("queries", {})
    platform = data["scale"] == "platform"
    rows = []

    def med(d: dict, key: str) -> float | None:
        return d.get(key, {}).get("median") if d else None

    if web:
        g, p = web["get_floor"], web["post_floor"]
        mc, ms = web["my_candidates"], web["my_candidates_single"]
        ratio = med(mc, "rps") / (med(g, "rps") or 1)
        qn = queries.get("my_candidates", {}).get("count")
        rows.append(("my candidates, 50 clients", "≥ 50% of GET floor req/s",
                     f"{_m(mc['rps'])} req/s = {ratio:.0%}", f"GET floor {_m(g['rps'])} req/s", ratio >= 0.5))  # fmt: skip
        rows.append(("my candidates, 1 client", "p95 ≤ 25 ms" + ("" if platform else " (at platform scale)"),
                     f"p95 {_m(ms['p95_ms'], '{:.1f}')} ms", "—", med(ms, "p95_ms") <= 25))  # fmt: skip
        rows.append(("my candidates, queries", "constant", f"{qn} queries per page", "—", None))
        lc, ls = web["log_contact"], web["log_contact_single"]
        ratio = med(lc, "rps") / (med(p, "rps") or 1)
        rows.append(("log a contact, 50 clients", "≥ 50% of POST floor req/s",
                     f"{_m(lc['rps'])} req/s = {ratio:.0%}", f"POST floor {_m(p['rps'])} req/s", ratio >= 0.5))  # fmt: skip
        rows.append(("log a contact, 1 client", "p95 ≤ 15 ms" + ("" if platform else " (at platform scale)"),
                     f"p95 {_m(ls['p95_ms'], '{:.1f}')} ms", "—", med(ls, "p95_ms") <= 15))  # fmt: skip
        c = web["claim"]
        ok = med(c, "claims_per_s") >= 100 and c["double_assignments"]["max"] == 0
        rows.append(("claim from the pool, 50 callers", "0 double assignments; ≥ 100 claims/s",
                     f"{_m(c['claims_per_s'])} claims/s, {c['double_assignments']['max']} doubles", "—", ok))  # fmt: skip
        for key, label, limit in (("team_dashboard_single", "team dashboard", 100),
                                  ("office_dashboard_single", "office dashboard (from the snapshot)", 500)):  # fmt: skip
            d = web.get(key)
            status = data.get("checks", {}).get(key.removesuffix("_single").removesuffix("_cold"))
            if d and status == 200:
                rows.append((f"{label}, 1 client", f"≤ {limit} ms" + ("" if platform else " (at platform scale)"),
                             f"p50 {_m(d['p50_ms'], '{:.1f}')} / p95 {_m(d['p95_ms'], '{:.1f}')} ms", "—",
                             med(d, "p95_ms") <= limit))  # fmt: skip
            else:
                rows.append((label, f"≤ {limit} ms", f"HTTP {status}: not measurable", "—", False))
    snap = data.get("snapshot")
    if snap:  # the office dashboard's numbers, taken outside requests
        rows.append(("season snapshot (nightly job / background refresh)", "outside requests",
                     f"{snap['seconds']:.1f} s for {snap['rows']} rows", "—", None))  # fmt: skip
    if batch:
        pay = batch["payout"]
        limit = 10 if platform else 1
        rows.append(("payout run, lines saved", f"≤ {limit} s",
                     f"{_m(pay['seconds'], '{:.2f}')} s, {_m(pay['queries'])} queries, {_m(pay['lines'])} lines", "—",
                     med(pay, "seconds") <= limit))  # fmt: skip
        wb, ex = batch["workbook"], batch["export_limit"]
        ratio = med(wb, "seconds") / med(ex, "seconds")
        rows.append((f"payout workbook, {_m(wb['people'])} people", "≤ 1.5× export limit; peak RSS ≤ 100 MB",
                     f"{_m(wb['seconds'], '{:.2f}')} s = {ratio:.2f}×; peak RSS {_m(wb['peak_rss_mb'])} MB "
                     f"(process baseline {_m(wb['baseline_rss_mb'])} MB)",
                     f"export limit {_m(ex['seconds'], '{:.2f}')} s for {_m(ex['cells'])} cells",
                     ratio <= 1.5 and med(wb, "peak_rss_mb") <= 100))  # fmt: skip
        imp, lim, ie = batch["import_full"], batch["import_limit"], batch["import_ie"]
        ratio = med(imp, "seconds") / med(lim, "seconds")
        ie_rows, full_rows = med(ie, "rows"), med(imp, "rows")
        ie_100k = med(ie, "seconds") * full_rows / ie_rows
        speedup = ie_100k / med(imp, "seconds")
        rows.append((f"candidate import, {full_rows:.0f} rows", "≤ 5× import limit",
                     f"{_m(imp['seconds'], '{:.1f}')} s = {ratio:.1f}×",
                     f"limit {_m(lim['seconds'], '{:.1f}')} s (calamine read {_m(lim['read_seconds'], '{:.1f}')} s + COPY)",
                     ratio <= 5))  # fmt: skip
        rows.append(("candidate import vs django-import-export", "≥ 10× faster",
                     f"{speedup:.1f}× (ModelResource: {_m(ie['seconds'], '{:.1f}')} s for {ie_rows:.0f} rows "
                     f"→ {ie_100k:.0f} s extrapolated to {full_rows:.0f})", "—", speedup >= 10))  # fmt: skip
        rec = batch["reconcile"]
        rows.append((f"nightly reconciliation, {_m(rec['rows'])} payment rows", "≤ 10 s",
                     f"{_m(rec['seconds'], '{:.1f}')} s (reading the workbook {_m(rec['read_seconds'], '{:.1f}')} s)",
                     "—", med(rec, "seconds") <= 10))  # fmt: skip
    return rows


def write_report(data: dict, target: Path) -> None:
    lines = [f"### Scale: {data['scale']} (run {data.get('started', '?')} – {data.get('finished', '?')})", ""]
    lines += [f"Medians of {data.get('repeat', 3)} runs, (min–max) in brackets.", ""]
    if data.get("batch_repeat") and data.get("batch_repeat") != data.get("repeat"):
        lines += [f"Batch tasks (payout … reconciliation): {data['batch_repeat']} run(s) each, for time.", ""]
    for key in ("calibration_before", "calibration_after"):
        if key in data:
            cal = data[key]
            lines += [
                f"- {key.replace('_', ' ')}: 2M-iteration Python loop {cal['loop_2m_s']} s "
                f"(≈0.1 s on an idle core), load average {', '.join(f'{x:.1f}' for x in cal['loadavg'])}"
            ]
    lines += [""]
    lines += ["| path | goal | measured | floor / limit | verdict |", "| --- | --- | --- | --- | --- |"]
    for path, goal, measured, floor, ok in goals(data):
        lines.append(f"| {path} | {goal} | {measured} | {floor} | {_verdict(ok)} |")
    web = data.get("web", {})
    if web:
        lines += ["", "wrk detail (medians): req/s, p50 / p95 / p99 ms, non-2xx/3xx or socket errors", ""]
        lines += [
            "| run | clients | req/s | p50 | p95 | p99 | errors |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, d in web.items():
            clients = 1 if name.endswith("_single") else 50
            lines.append(
                f"| {name} | {clients} | {_m(d['rps'])} | {d['p50_ms']['median']:.1f} | {d['p95_ms']['median']:.1f} "
                f"| {d['p99_ms']['median']:.1f} | {d['bad']['max']:.0f} |"
            )
    queries = data.get("queries", {})
    if queries:
        lines += ["", "Queries per request and EXPLAIN (ANALYZE) of each path's SELECTs (slowest first):", ""]
        for name, q in queries.items():
            plans = sorted(q["plans"], key=lambda p: -p["ms"])
            seq = sorted({t for p in plans for t in p["large_seq_scans"]})
            lines.append(
                f"- **{name}**: HTTP {q['status']}, {q['count']} queries, SELECTs total "
                f"{sum(p['ms'] for p in plans):.2f} ms; seq scans on large tables: {', '.join(seq) or 'none'}"
            )
    target.write_text("\n".join(lines) + "\n")


def explain_appendix(data: dict, top: int = 2) -> str:
    """The slowest plans per path, for the EXPLAIN section of BENCHMARKS.md."""
    out = []
    for name, q in data.get("queries", {}).items():
        for p in sorted(q["plans"], key=lambda p: -p["ms"])[:top]:
            out += [
                f"#### {name} ({p['ms']:.2f} ms)",
                "",
                "```sql",
                p["sql"][:1500],
                "```",
                "",
                "```",
                p["plan"],
                "```",
                "",
            ]
    return "\n".join(out)


if __name__ == "__main__":
    scale = sys.argv[1] if len(sys.argv) > 1 else "office"
    data = json.loads((RESULTS / f"{scale}.json").read_text())
    write_report(data, RESULTS / f"{scale}.md")
    if "--explain" in sys.argv:
        (RESULTS / f"{scale}-explain.md").write_text(explain_appendix(data))
