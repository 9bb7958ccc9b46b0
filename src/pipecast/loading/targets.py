"""A target from the command line, or from a small file that holds one."""

from __future__ import annotations

from pathlib import Path

from pipecast.errors import TargetError
from pipecast.targets import TARGET_FORM, Target, parse_target

#: A target file is a line of text; anything this large is not one.
MAX_TARGET_FILE_BYTES = 64_000


def load_target(value: str) -> Target:
    """`value` is a target such as 2027-2030:1-3, or a .txt/.yaml file whose first non-comment line is one."""
    path = Path(value)
    if path.suffix in (".txt", ".yaml", ".yml") and path.is_file():
        if path.stat().st_size > MAX_TARGET_FILE_BYTES:
            raise TargetError("target file is too large", file=str(path), expected=TARGET_FORM)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TargetError(f"cannot read the file ({exc.__class__.__name__})", file=str(path)) from None
        return target_from_text(text, source=str(path))
    return parse_target(value)


def target_from_text(text: str, *, source: str) -> Target:
    """The first non-comment line (optionally `target: ...`) of a target file's text."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("target:"):
            line = line.split(":", 1)[1].strip().strip("'\"")
        if line:
            return parse_target(line, source=source)
    raise TargetError("no target in file", file=source, expected=TARGET_FORM)
