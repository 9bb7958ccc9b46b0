"""Reading post_approval.csv (life after approval: NRDL, provinces, hospitals, patients), every row sourced."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pipecast.plan.post_approval import PostApprovalFact

FILE_NAME = "post_approval.csv"
REQUIRED = ("candidate", "kind", "value", "date", "source_title", "source_url")
OPTIONAL = ("unit", "date_text", "source_date", "quote", "confidence", "note")


def bundled_post_approval(name: str = "chongqing") -> Path:
    return Path(str(resources.files("pipecast.data").joinpath(name))) / FILE_NAME


def load_post_approval(path: str | Path | None = None) -> list[PostApprovalFact]:
    """The facts of a post_approval.csv (None: the bundled Chongqing file; a folder: its post_approval.csv).

    A row without a source (title and an http(s) address), with an unknown kind or a count that is not a
    whole number is an InputError naming the file, row and column."""
    from pipecast.errors import InputError
    from pipecast.tabular import read_table

    chosen = bundled_post_approval() if path is None else Path(path)
    if chosen.is_dir():
        chosen = chosen / FILE_NAME
    if not chosen.is_file():
        return []
    out = []
    for row in read_table(chosen, REQUIRED, OPTIONAL):
        url = row.required("source_url", "the address of the page that publishes it")
        if not url.startswith(("http://", "https://")):
            raise row.error("source_url", f"{url!r} is not a web address", "an address starting with http(s)://")
        date = row.date("date")
        assert date is not None
        try:
            out.append(PostApprovalFact(
                candidate=row.required("candidate", "a candidate id"), kind=row.required("kind", "nrdl, provinces, "
                                                                                          "hospitals or patients"),
                value=row.required("value", "the published value"), date=date,
                source_title=row.required("source_title", "the title of the source"), source_url=url,
                date_text=row.get("date_text"), unit=row.get("unit"), source_date=row.date("source_date",
                                                                                            required=False),
                quote=row.get("quote"), confidence=row.get("confidence"), note=row.get("note")))
        except InputError as exc:
            raise row.error(exc.field or "value", exc.message, exc.expected) from None
    return out


def facts_of(candidate: str, path: str | Path | None = None) -> list[PostApprovalFact]:
    """One candidate's post-approval facts, oldest first (for `pipecast assets show` and its dashboard page)."""
    from pipecast.plan.post_approval import facts_for

    return facts_for(load_post_approval(path), candidate)


def fact_line(fact: PostApprovalFact) -> str:
    when = fact.date_text or fact.date.isoformat()
    unit = f" {fact.unit}" if fact.unit else ""
    return f"after approval: {fact.kind} {fact.value}{unit} ({when}; {fact.source_title})"
