"""Command-line values that become engine settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipecast.errors import InputError


def parse_group_rho(items: Mapping[str, float] | Sequence[str] | None) -> dict[str, float]:
    """{'sponsor': 0.2} from a mapping or from CLI strings such as 'sponsor=0.2'."""
    if not items:
        return {}
    if isinstance(items, Mapping):
        return {str(k): float(v) for k, v in items.items()}
    out: dict[str, float] = {}
    for text in items:
        kind, sep, value = str(text).partition("=")
        try:
            if not sep:
                raise ValueError(text)
            out[kind.strip()] = float(value)
        except ValueError:
            raise InputError(
                f"cannot read correlation {text!r}", field="--rho", expected="GROUP=RHO, e.g. sponsor=0.2"
            ) from None
    return out
