"""Snapshots, their differences, and which watches a change concerns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipecast.errors import InputError

WATCH_KINDS = ("candidate", "company", "region", "target")
CHANGE_KINDS = ("phase", "filing", "approval", "deal", "risk")


@dataclass(frozen=True, slots=True)
class Watch:
    user: str
    kind: str
    target: str

    def __post_init__(self) -> None:
        if self.kind not in WATCH_KINDS:
            raise InputError(f"unknown watch kind {self.kind!r}", field="KIND",
                             expected="one of " + ", ".join(WATCH_KINDS))
        if not self.target.strip():
            raise InputError("nothing to watch", field="TARGET", expected="a candidate, company, region or target id")


@dataclass(frozen=True, slots=True)
class Change:
    """`key` changed from `old` to `new` ("" when absent); `label` names the subject for people."""

    kind: str
    key: str
    old: str
    new: str
    label: str = ""
    tags: frozenset[tuple[str, str]] = frozenset()


def _kind(key: str, new: str) -> str:
    prefix = key.split(":", 1)[0]
    if prefix == "phase":
        return {"filed": "filing", "approved": "approval"}.get(new, "phase")
    if prefix == "deal":
        return "deal"
    if prefix == "risk":
        return "risk"
    raise ValueError(f"unknown snapshot key {key!r}")


def diff(old: Mapping[str, str], new: Mapping[str, str], tags: Mapping[str, frozenset[tuple[str, str]]],
         labels: Mapping[str, str] | None = None) -> list[Change]:
    """Every key whose value differs (new keys included; a key that vanished is not a change), in key order.

    `tags[key]` says what the key concerns (its candidate, sponsors, regions or target)."""
    names = labels or {}
    out = []
    for key in sorted(new):
        before, after = old.get(key, ""), new[key]
        if before != after:
            out.append(Change(_kind(key, after), key, before, after, names.get(key, key.split(":", 1)[1]),
                              tags.get(key, frozenset())))
    return out


def matching(watches: Iterable[Watch], changes: Iterable[Change]) -> dict[str, list[Change]]:
    """User -> the changes any of their watches matches (each change once, in the given order)."""
    listed = list(changes)
    out: dict[str, list[Change]] = {}
    by_user: dict[str, set[tuple[str, str]]] = {}
    for w in watches:
        by_user.setdefault(w.user, set()).add((w.kind, w.target))
    for user, wanted in sorted(by_user.items()):
        mine = [c for c in listed if c.tags & wanted]
        if mine:
            out[user] = mine
    return out
