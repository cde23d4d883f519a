"""Helpers shared by the reliability tests (a unique module name: tests/ has no packages)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_line(text: str) -> str:
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    assert "Traceback" not in text
    return lines[0]

