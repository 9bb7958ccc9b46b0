"""Shell glue for name matching: the bundled Chongqing alias files, read into `pipecast.matching` tables.

The matching itself (normalisation, the alias table, scores, `resolve`) is pure and lives in
`pipecast.matching`; its names are re-exported here for the importers that use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pipecast.errors import AliasConflict, InputError
from pipecast.matching import (
    KINDS,
    Alias,
    AliasTable,
    Match,
    keys,
    known_table,
    match_candidates,
    resolve,
    resolve_onto,
    resolve_with_matches,
)
from pipecast.matching import candidate_table as _candidate_table
from pipecast.tabular import read_table

DATA = Path(__file__).parent / "data"

__all__ = [
    "DATA", "KINDS", "Alias", "AliasConflict", "AliasTable", "Match", "candidate_table", "chongqing_table",
    "keys", "known_table", "load_alias_table", "match_candidates", "resolve", "resolve_onto",
    "resolve_with_matches",
]


def load_alias_table(path: str | Path, parents: str | Path | None = None) -> AliasTable:
    """Load `alias,kind,canonical_id,lang,source` rows (and optionally `org_id,parent_id,source`)."""
    table = AliasTable()
    for row in read_table(path, ("alias", "kind", "canonical_id"), ("lang", "source")):
        try:
            table.add(
                row.required("alias", "a name"),
                row.required("kind", "drug or org"),
                row.required("canonical_id", "an id"),
                row.get("lang"),
                row.get("source"),
            )
        except InputError as exc:
            raise row.error("alias", exc.message, exc.expected) from None
    if parents:
        for row in read_table(parents, ("org_id", "parent_id"), ("source",)):
            table.add_parent(row.required("org_id", "an org id"), row.required("parent_id", "an org id"))
    return table


def chongqing_table() -> AliasTable:
    """The bundled Chongqing drugs and companies (sources in the CSV, taken from the project's facts).

    Drug ids are the bundled data set's ids (`genrix-gr1501`, ...), so a name imported before or after
    `pipecast load-bundled chongqing` means the same candidate.
    """
    return load_alias_table(DATA / "aliases_chongqing.csv", DATA / "org_parents_chongqing.csv")


def candidate_table(named: Iterable[tuple[str, Sequence[str]]], bundled: AliasTable | None = None) -> AliasTable:
    """`pipecast.matching.candidate_table` with the bundled Chongqing table as the default."""
    return _candidate_table(named, bundled if bundled is not None else chongqing_table())
