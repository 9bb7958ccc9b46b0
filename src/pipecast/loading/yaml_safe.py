"""YAML for user files, loaded safely and with a budget.

`yaml.SafeLoader` builds only plain data (no Python objects), but on its own it accepts an alias bomb
("billion laughs": each level repeats the previous one by alias, so a few hundred bytes stand for
billions of nodes): walking the result then takes unbounded time and memory. `load_yaml` refuses a
file larger than `max_bytes` before parsing it, and counts nodes while composing, an alias counting
as the whole subtree it stands for; past `max_nodes` it refuses at once. Composition is linear in the
text, so a refusal costs time and memory bounded by `max_bytes`.

Every failure is one InputError naming the file, the line and column, the problem and what was
expected, never PyYAML's multi-line dump.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipecast.errors import InputError

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_NODES = 100_000


class _BudgetLoader(yaml.SafeLoader):
    """SafeLoader that counts each node with the full size of what its aliases expand to."""

    max_nodes = DEFAULT_MAX_NODES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
            if self._sizes.get(id(node), 1) > self.max_nodes:
                raise _OverBudget(event.start_mark)
            return node
        node = super().compose_node(parent, index)
        if node is None:
            return None
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._sizes.get(id(child), 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        self._sizes[id(node)] = size
        if size > self.max_nodes:
            raise _OverBudget(node.start_mark)
        return node


class _OverBudget(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("over budget")
        self.mark = mark


def load_yaml(
    source: str | Path,
    *,
    what: str,
    file: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Any:
    """Plain data from YAML text (a str) or a YAML file (a Path), within the size and node budget.

    `what` says what the file should hold ("a scenario mapping", "a column map"); it ends every error.
    `file` names the source in errors (default: the path, or "<yaml>" for text).
    """
    name = file or (str(source) if isinstance(source, Path) else "<yaml>")
    text = _read(source, name, what, max_bytes) if isinstance(source, Path) else source
    if len(text.encode("utf-8", errors="replace")) > max_bytes:
        raise InputError(f"YAML text is larger than {max_bytes:,} bytes", file=name, expected=what)
    loader = _BudgetLoader(text)
    loader.max_nodes = max_nodes
    try:
        return loader.get_single_data()
    except _OverBudget as exc:
        raise InputError(
            f"{_where(exc.mark)}: more than {max_nodes:,} YAML nodes once aliases are expanded (refused)",
            file=name,
            expected=what,
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise InputError(_describe(exc), file=name, expected=what) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({_one_line(str(exc))})", file=name, expected=what) from None
    except RecursionError:
        raise InputError("YAML nested too deeply", file=name, expected=what) from None
    finally:
        loader.dispose()


def _read(path: Path, name: str, what: str, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"file is {size:,} bytes, more than {max_bytes:,}", file=name, expected=what)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=name, expected=what) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=name, expected=what) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc.__class__.__name__})", file=name) from None


def _where(mark: yaml.Mark | None) -> str:
    return "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = _one_line(exc.problem or exc.context or exc.__class__.__name__)
    where = _where(mark)
    return f"{where}: not valid YAML: {problem}" if where else f"not valid YAML: {problem}"
