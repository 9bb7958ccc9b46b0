"""The exceptions pipecast raises on purpose: every one a PipecastError subclass declared here.

    PipecastError                   anything we expect and can explain in one sentence
    ├── InputError                  a user's file, option or setting is wrong: names file, row, field, expectation
    │   ├── UsageError              the command line itself: an unknown option, a missing or bad option value
    │   ├── UnknownPhaseError       a phase spelling we cannot map (also a ValueError)
    │   ├── RateSetError            a rate set is incomplete or out of range
    │   ├── TargetError             a target such as "2027-2030:1-3", or a year range, cannot be read
    │   ├── ScenarioError           a scenario or mapping file (YAML) is malformed, over budget or inconsistent
    │   ├── ResolutionError         a merge, split or undo that cannot be done as asked
    │   │   └── AliasConflict       an alias would mean two different candidates or organisations
    │   ├── OptionConflictError     options that do not go together (--rho without --method montecarlo)
    │   └── FileProblemsError       a file with several bad rows: the first as the message, all of them attached
    ├── NetworkError                a registry or web source could not be reached or answered badly
    ├── ImportMemoryError           an import ran out of memory; nothing was written
    ├── StoreError                  the database is missing, locked, broken or at an unknown schema version
    │   └── AppendOnlyError         code or a user tried to change or remove a history row
    ├── EngineError                 a computation cannot be done this way (too large, dates out of range)
    │   └── MissingExtraError       an optional dependency (dask, jax, ...) is not installed
    └── ApiError                    a REST API refusal with its HTTP status, machine code and field

The CLI turns each into one line on stderr (`error: ...`) and exit status 2; anything else that escapes is a
bug. Modules raise these classes (or subclasses declared here), never bare ValueError/RuntimeError, for
anything a user can cause.
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
        if self.field and _is_option_or_variable(self.field):
            where.append(self.field)
        elif self.field:
            where.append(f"column {self.field!r}")
        text = ", ".join(where)
        text = f"{text}: {self.message}" if text else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return text


def _is_option_or_variable(field: str) -> bool:
    """`--as-of`, `FROM` or `PIPECAST_PATHS` name an option, argument or variable rather than a column."""
    return field.startswith("-") or (field.isupper() and field.replace("_", "").isalpha())


class UsageError(InputError):
    """The command line is wrong: rendered as `OPTION: message`, e.g. `--paths: expected a positive integer,
    got 0`."""

    def __init__(self, message: str, *, option: str = "") -> None:
        self.option = option
        super().__init__(message)

    def _render(self) -> str:
        return f"{self.option}: {self.message}" if self.option else self.message


class UnknownPhaseError(InputError, ValueError):
    """A phase spelling we cannot map; the message lists the accepted forms."""


class RateSetError(InputError):
    """A rate set is incomplete (a phase without a general row) or a value is out of range."""


class TargetError(InputError):
    """A target ("2027-2030:1-3") or a year range ("2025-2031") cannot be read or is out of range."""


class ScenarioError(InputError):
    """A scenario or mapping file is malformed, exceeds the YAML budget, or names an unknown lever."""


class ResolutionError(InputError):
    """A merge, split or undo that cannot be done as asked (unknown id, into itself, undone twice...).

    Raised before anything is committed: the action's transaction writes nothing.
    """


class AliasConflict(ResolutionError):
    """An alias would mean two different things."""


class OptionConflictError(InputError):
    """Options that do not go together, or an option that would have no effect (every option takes effect
    or is an error)."""

    def __init__(self, message: str, *, option: str = "") -> None:
        self.option = option
        super().__init__(message)


class NetworkError(PipecastError):
    """A registry or web source could not be reached, timed out, or answered with an error status."""

    def __init__(self, message: str, *, url: str = "") -> None:
        self.url = url
        super().__init__(f"{url}: {message}" if url else message)


class StoreError(PipecastError):
    """The database is missing, locked, not a database, or at a schema version this program does not know."""


class AppendOnlyError(StoreError):
    """Raised when code tries to change or remove a history row (events, facts, resolution actions)."""


class EngineError(PipecastError):
    """A computation cannot be done this way (too large, dates out of range, a backend failed)."""


class MissingExtraError(EngineError):
    """An optional dependency is not installed; says which extra brings it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this needs the optional package {module!r}: install it with "
            f"pip install 'pipecast[{extra}]'"
        )


class ImportMemoryError(PipecastError):
    """An import ran out of memory; nothing was written (the store writes in one transaction, after reading)."""


class ApiError(PipecastError):
    """A REST API refusal: its HTTP status, a stable machine `code`, a sentence, and the field it concerns.

    The API's one error handler renders it as `{"error": {"code", "message", "field"}}`.
    """

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


class FileProblemsError(InputError):
    """The first error a file reader raised, carrying every problem found in the file (`problems`).

    The message is the first problem's; `problems` is whatever list the caller collected (for the web and API
    imports, `pipecast.api.rowcheck.Problems`), so a dry run can show every bad row, not only the first.
    """

    def __init__(self, first: InputError, problems: object) -> None:
        super().__init__(first.message, file=first.file, row=first.row, field=first.field, expected=first.expected)
        self.problems = problems
