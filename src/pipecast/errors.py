"""The exceptions pipecast raises on purpose.

    PipecastError                 anything we expect and can explain
    ├── InputError                a user's file or argument is wrong: names file, row, field, expectation
    │   ├── RateSetError          a rate set is incomplete or out of range
    │   └── TargetError           a target such as "2027-2030:1-3" cannot be parsed
    ├── StoreError                the database is missing, locked or at an unknown schema version
    └── EngineError               a computation cannot be done this way (too large, missing extra)

The CLI turns each into one line on stderr and exit status 2; the API turns each into one JSON shape.
"""

from __future__ import annotations


class PipecastError(Exception):
    """Base class: an error we can explain in one plain sentence."""

    exit_code = 2


class InputError(PipecastError):
    """Bad user input, located as precisely as we can."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        row: int | None = None,
        field: str = "",
        expected: str = "",
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.expected = expected
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"column {self.field!r}")
        text = ", ".join(where)
        text = f"{text}: {self.message}" if text else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class RateSetError(InputError):
    pass


class TargetError(InputError):
    pass


class StoreError(PipecastError):
    pass


class EngineError(PipecastError):
    pass


class MissingExtraError(EngineError):
    """An optional dependency is not installed; says which extra brings it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this needs the optional package {module!r}: install it with "
            f"pip install 'pipecast[{extra}]'"
        )
