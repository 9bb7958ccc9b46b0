"""Alerts (pure): what changed between two snapshots of the registry, who watches it, and the digest text.

A snapshot maps keys to values: `phase:<candidate>` -> its phase, `deal:<key>` -> the deal's parties,
`risk:<target>` -> the target's verdict. `diff` turns two snapshots into `Change`s (a phase change is a
`filing` when the new phase is filed, an `approval` when it is approved); each change carries tags
(`("candidate", id)`, `("company", org id)`, `("region", id)`, `("target", id)`) and a watch matches a
change when its (kind, target) is one of them. `digest` writes one message per user in en or zh.
"""

from __future__ import annotations

from pipecast.alerts.digest import LANGUAGES, describe, digest
from pipecast.alerts.watch import CHANGE_KINDS, WATCH_KINDS, Change, Watch, diff, matching

__all__ = ["CHANGE_KINDS", "LANGUAGES", "WATCH_KINDS", "Change", "Watch", "describe", "diff", "digest", "matching"]
