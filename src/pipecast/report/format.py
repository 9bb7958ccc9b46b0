"""How numbers and labels are written on the page, shared by the charts and the HTML sections."""

from __future__ import annotations

import html
from typing import Any

from pipecast.targets import Target

#: Phases drawn in the funnel, in order: the pipeline and what it has already delivered.
FUNNEL_PHASES = ("preclinical", "phase1", "phase2", "phase3", "filed", "approved")
#: Characters of a rate row's source shown before it is opened.
SUMMARY_CHARS = 110
#: Upper bounds of the plain-language verdicts (verdict_0 ... verdict_4).
VERDICT_BOUNDS = (0.1, 0.33, 0.66, 0.9)


def format_probability(p: float) -> str:
    """A probability as the page shows it: one decimal percent, never rounding a possibility to 0 or 100."""
    if 0 < p < 0.0005:
        return "<0.1%"
    if 0.9995 <= p < 1:
        return ">99.9%"
    return f"{p:.1%}"


def format_delta(d: float, t: dict[str, str]) -> str:
    """A change in probability in percentage points, as a reader says it ("+4.8", "less than 0.1")."""
    points = d * 100
    if points == 0:
        return t["delta_zero"]
    if abs(points) < 0.05:
        return t["delta_tiny"]
    return f"{points:+.1f}".replace("-", "−")


def is_cjk(text: str) -> bool:
    """Whether the text contains Chinese characters (a Chinese name or alias)."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def span_label(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def band_label(target: Target) -> str:
    return (
        f"{target.low}+"
        if target.high is None
        else (str(target.low) if target.low == target.high else f"{target.low}–{target.high}")
    )


def verdict_key(p: float) -> str:
    for k, bound in enumerate(VERDICT_BOUNDS):
        if p < bound:
            return f"verdict_{k}"
    return f"verdict_{len(VERDICT_BOUNDS)}"


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)
