"""The digest: one message per user, in English or Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pipecast.alerts.watch import Change
from pipecast.errors import InputError

LANGUAGES = ("en", "zh")

_PHASES_ZH = {"preclinical": "临床前", "phase1": "I期临床", "phase2": "II期临床", "phase3": "III期临床",
              "filed": "已申报上市", "approved": "已获批上市", "discontinued": "已终止", "suspended": "已暂停"}
_VERDICTS_ZH = {"on track": "按计划推进", "at risk": "有风险", "met": "已达成", "missed": "未达成",
                "cannot judge": "无法判断", "tracked": "跟踪中"}
_KIND = {
    "en": {"phase": "phase", "filing": "filing", "approval": "approval", "deal": "deal", "risk": "target risk"},
    "zh": {"phase": "阶段变化", "filing": "上市申报", "approval": "获批上市", "deal": "交易", "risk": "目标风险"},
}


def _check(language: str) -> None:
    if language not in LANGUAGES:
        raise InputError(f"unknown language {language!r}", field="--lang", expected="en or zh")


def describe(change: Change, language: str) -> str:
    """One line for a change."""
    _check(language)
    kind = _KIND[language][change.kind]
    if change.kind == "deal":
        return (f"[{kind}] {change.label}: new deal {change.new}" if language == "en"
                else f"[{kind}] {change.label}:新交易 {change.new}")
    old, new = change.old, change.new
    if language == "zh":
        table = _VERDICTS_ZH if change.kind == "risk" else _PHASES_ZH
        old, new = table.get(old, old), table.get(new, new)
        return f"[{kind}] {change.label}:{old or '(无)'} → {new}"
    return f"[{kind}] {change.label}: {old or '(none)'} -> {new}"


def digest(user: str, changes: Sequence[Change], language: str, on: dt.date) -> tuple[str, str]:
    """(subject, body) of one user's digest of `changes` found on `on`."""
    _check(language)
    lines = [describe(c, language) for c in changes]
    if language == "zh":
        subject = f"pipecast 提醒:{len(changes)} 项变化({on.isoformat()})"
        head = f"{user},您关注的对象有 {len(changes)} 项变化:"
        foot = "在 pipecast 中查看:GET /api/v1/alerts 或 `pipecast alerts list`。"
    else:
        subject = f"pipecast alerts: {len(changes)} change{'s' if len(changes) != 1 else ''} ({on.isoformat()})"
        head = f"{user}, {len(changes)} change{'s' if len(changes) != 1 else ''} to what you watch:"
        foot = "In pipecast: GET /api/v1/alerts or `pipecast alerts list`."
    return subject, "\n".join([head, "", *lines, "", foot]) + "\n"
