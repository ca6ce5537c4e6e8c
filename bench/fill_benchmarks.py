"""Paste bench/results/<scale>.md and the in-process times into BENCHMARKS.md between the
`<!-- bench:<scale> -->` markers:  .venv/bin/python -m bench.fill_benchmarks
"""

from __future__ import annotations

import json

from bench.common import ROOT

RESULTS = ROOT / "bench" / "results"


def inprocess_table(scale: str) -> str:
    path = RESULTS / f"{scale}-inprocess.json"
    if not path.exists():
        return ""
    data = json.loads(path.read_text().strip()[len("RESULT ") :])
    lines = [
        "",
        "In-process service time (test client, paths and floors interleaved, 20 rounds): "
        "median (min–max) ms per request and the multiple of the floor.",
        "",
        "| path | ms | × floor |",
        "| --- | --- | --- |",
    ]
    for name, v in data.items():
        ratio = f"{v['x_floor']:.1f}×" if "x_floor" in v else "floor"
        lines.append(f"| {name} | {v['median_ms']:.1f} ({v['min_ms']:.1f}–{v['max_ms']:.1f}) | {ratio} |")
    return "\n".join(lines)


def section(scale: str) -> str:
    path = RESULTS / f"{scale}.md"
    if not path.exists():
        return f"### Scale: {scale}\n\nNot measured in this run."
    return path.read_text().rstrip() + "\n" + inprocess_table(scale)


def main() -> int:
    target = ROOT / "BENCHMARKS.md"
    text = target.read_text()
    for scale in ("office", "platform"):
        start, end = f"<!-- bench:{scale} -->", f"<!-- /bench:{scale} -->"
        if start in text:
            head, rest = text.split(start, 1)
            _old, tail = rest.split(end, 1)
            text = f"{head}{start}\n{section(scale)}\n{end}{tail}"
    target.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
