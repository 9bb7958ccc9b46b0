"""Hooks run after a committed write that can change what watchers watch (the alert scan).

`Store.changed()` calls the store's own hook (`store.after_change`, set by the API) or, failing that, the hooks
active in this process (`active(...)`, set by the command line while one command runs). A hook runs after the
commit, never inside the write's transaction: `Store.changed` logs its failure and the write stands.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Hook = Callable[[object], object]

_ACTIVE: list[Hook] = []


@contextlib.contextmanager
def active(hook: Hook) -> Iterator[None]:
    """Run `hook(store)` after every change-making write while the block runs."""
    _ACTIVE.append(hook)
    try:
        yield
    finally:
        _ACTIVE.remove(hook)


def hooks() -> tuple[Hook, ...]:
    return tuple(_ACTIVE)
