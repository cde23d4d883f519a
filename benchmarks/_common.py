"""Shared helpers for the benchmarks: machine facts, medians, and one result-row format.

Every benchmark prints a human-readable table and, as its last line, ``RESULTS_JSON {...}``
with a list of rows ``{"figure", "value", "unit", "target", "met"}`` that run_all.py collects.
Benchmarks print figures; they never assert timings.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SHARED = ROOT.parent / "shared" / "datasets"
if "LATENT_MORPH_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["LATENT_MORPH_DATA"] = str(_SHARED)

MARKER = "RESULTS_JSON "


def data_dir() -> str | None:
    return os.environ.get("LATENT_MORPH_DATA")


def machine() -> dict:
    import torch

    from core.device import cpu_name

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version()}


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(values, q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed(fn, repeats: int = 5, warmup: int = 1) -> list[float]:
    """Seconds per call, ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class Results:
    """Collects rows; ``finish`` prints the table and the JSON line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict] = []

    def add(self, figure: str, value, unit: str = "", target: str = "", met: bool | None = None,
            note: str = "") -> None:
        self.rows.append({"figure": figure, "value": value, "unit": unit, "target": target, "met": met,
                          "note": note})

    def skip(self, figure: str, reason: str) -> None:
        self.rows.append({"figure": figure, "value": None, "unit": "", "target": "", "met": None,
                          "note": f"not available yet: {reason}"})

    def finish(self) -> None:
        print(format_table(self.rows, title=self.name))
        print(MARKER + json.dumps({"benchmark": self.name, "rows": self.rows}, default=str), flush=True)


def shipped_judge_or_finish(results: Results, figure: str):
    """The shipped digit judge, or None after ``results`` said why under ``figure`` and finished
    (the benchmarks that read images with it have nothing else to measure without it)."""
    from core.judge import JudgeUnavailable, load_judge

    try:
        return load_judge()
    except JudgeUnavailable as exc:
        results.skip(figure, str(exc))
        results.finish()
        return None


def fmt_value(value, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if abs(value) >= 100 and abs(value) < 1000:
            text = f"{value:.1f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def format_table(rows: list[dict], title: str = "") -> str:
    header = ("figure", "measured", "target", "met")
    lines = []
    table = []
    for row in rows:
        met = {True: "met", False: "MISSED", None: ""}[row.get("met")]
        measured = fmt_value(row["value"], row.get("unit", ""))
        if row.get("note"):
            measured = f"{measured}  ({row['note']})" if row["value"] is not None else row["note"]
        table.append((row["figure"], measured, row.get("target", ""), met))
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(header)]
    if title:
        lines.append(f"== {title} ==")
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for r in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)
