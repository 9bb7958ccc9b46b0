"""`pipecast cases add|move|list|show|stats|add-department|departments`: the task force's support cases.

    pipecast cases add-department cq-nmpa "Chongqing Medical Products Administration" --name-zh 重庆市药监局
    pipecast cases add --candidate GR1802 --type review_approval --department cq-nmpa \\
        --title "Priority review of the AD filing" --target-date 2026-03-31 --on 2025-10-01
    pipecast cases move 1 in_progress --on 2025-10-05
    pipecast cases move 1 resolved --on 2026-02-10 --outcome "review slot granted" --days 40
    pipecast cases list --department cq-nmpa           overdue cases first
    pipecast cases stats                               per department: share closed in time, median days to close

Workflow: open -> in_progress -> blocked <-> in_progress -> resolved. Every change is an event (append-only,
hash-chained: `cases show` lists them, `cases verify` recomputes the chain).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from pipecast.commands.common import JsonOption, echo, echo_json, open_store, parse_date_option, safe
from pipecast.errors import InputError, OptionConflictError

OnOption = Annotated[str | None, typer.Option("--on", help="Date of the change (default: today).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who makes the change (recorded in the case's events).")]
DeptOption = Annotated[str | None, typer.Option("--department", help="Only this department's cases.")]


def _on(text: str | None) -> dt.date:
    from pipecast import clock

    return parse_date_option(text, "--on") or clock.today()


def _actor(actor: str) -> str:
    if actor.strip():
        return actor.strip()
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


def add_department_command(
    ctx: typer.Context,
    dept_id: Annotated[str, typer.Argument(help="Department id, e.g. cq-nmpa.", show_default=False)],
    name: Annotated[str, typer.Argument(help="Its name.", show_default=False)],
    name_zh: Annotated[str, typer.Option("--name-zh", help="Its Chinese name (kept as an alias).")] = "",
) -> None:
    """Add a task-force department (an organisation of kind department)."""
    from pipecast.domain import Organisation, OrgKind

    if not dept_id.strip() or not name.strip():
        raise InputError("empty department id or name", field="ID", expected="an id and a name")
    with open_store(ctx) as store:
        known = {o.id: o for o in store.organisations()}
        if dept_id in known and known[dept_id].kind != OrgKind.DEPARTMENT:
            raise InputError(f"{dept_id!r} is an organisation of kind {known[dept_id].kind.value}", field="ID",
                             expected="a new id for the department")
        aliases = (name_zh,) if name_zh.strip() else ()
        store.import_data(organisations=[Organisation(dept_id, name, OrgKind.DEPARTMENT, aliases)], kind="api")
    echo(f"department {safe(dept_id)}: {safe(name)}")


def departments_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The departments cases may name."""
    from pipecast.store.cases import departments

    with open_store(ctx) as store:
        found = departments(store.organisations())
    if as_json:
        echo_json([{"id": d.id, "name": d.name, "aliases": list(d.aliases)} for d in found])
        return
    for d in found:
        echo(f"{safe(d.id)}\t{safe(d.name)}" + (f"\t{safe(' | '.join(d.aliases))}" if d.aliases else ""))


def add_command(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="What help is requested.")],
    case_type: Annotated[str, typer.Option("--type", help="review_approval, trial_alignment, market_access, "
                                                          "financing, talent or other.")],
    department: Annotated[list[str], typer.Option("--department", help="A responsible department (repeatable).")],
    candidate: Annotated[str | None, typer.Option("--candidate", help="The candidate (id, alias or name).")] = None,
    company: Annotated[str | None, typer.Option("--company", help="The company (organisation id or name).")] = None,
    target_date: Annotated[str | None, typer.Option("--target-date", help="When it should be resolved.")] = None,
    on: OnOption = None,
    actor: ActorOption = "",
    note: Annotated[str, typer.Option("--note", help="A note for the opening event.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Open a support case for a candidate or a company."""
    from pipecast.cases import Case
    from pipecast.store.cases import add_case

    if (candidate is None) == (company is None):
        raise OptionConflictError("give exactly one of --candidate and --company", option="--candidate")
    kind, subject = ("candidate", candidate) if candidate is not None else ("company", company or "")
    draft = Case(0, title, case_type, kind, subject, tuple(department), _on(on),
                 target_date=parse_date_option(target_date, "--target-date"))
    with open_store(ctx) as store:
        case = add_case(store, draft, actor=_actor(actor), note=note)
    if as_json:
        echo_json(case.as_dict())
        return
    echo(f"case {case.id} opened: {safe(case.title)} ({case.type}, {case.subject_kind} {safe(case.subject_id)}, "
         f"{safe(', '.join(case.departments))})")


def move_command(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(help="The case id.", show_default=False, min=1, max=2**62)],
    status: Annotated[str, typer.Argument(help="in_progress, blocked or resolved.", show_default=False)],
    on: OnOption = None,
    actor: ActorOption = "",
    note: Annotated[str, typer.Option("--note", help="Why (recorded in the event).")] = "",
    outcome: Annotated[str, typer.Option("--outcome", help="What came of it (with resolved).")] = "",
    money: Annotated[float | None, typer.Option("--money", help="RMB millions it moved (with resolved).")] = None,
    days: Annotated[float | None, typer.Option("--days", help="Days it saved (with resolved).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Move a case along the workflow (a step that skips it is an error; nothing is written)."""
    from pipecast.store.cases import move_case

    with open_store(ctx) as store:
        case = move_case(store, case_id, status, _on(on), actor=_actor(actor), note=note, outcome=outcome,
                         money_rmb_m=money, days_moved=days)
    if as_json:
        echo_json(case.as_dict())
        return
    echo(f"case {case.id}: {case.status} since {case.status_since}")


def _row(case: object, today: dt.date) -> str:
    from pipecast.cases import Case, overdue_days

    assert isinstance(case, Case)
    late = overdue_days(case, today)
    flag = f"OVERDUE {late}d" if late else case.status
    return (f"{case.id}\t{flag}\t{case.type}\t{safe(case.subject_id)}\t{case.target_date or '-'}\t"
            f"{safe(', '.join(case.departments))}\t{safe(case.title)}")


def list_command(ctx: typer.Context, department: DeptOption = None, on: OnOption = None,
                 as_json: JsonOption = False) -> None:
    """Cases, overdue first (most overdue first), then open ones by target date, then resolved ones."""
    from pipecast.cases import ordered, overdue_days
    from pipecast.store.cases import list_cases

    today = _on(on)
    with open_store(ctx) as store:
        found = ordered(list_cases(store, department), today)
    if as_json:
        echo_json([{**c.as_dict(), "overdue_days": overdue_days(c, today)} for c in found])
        return
    for case in found:
        echo(_row(case, today))


def show_command(ctx: typer.Context, case_id: Annotated[int, typer.Argument(show_default=False, min=1, max=2**62)],
                 as_json: JsonOption = False) -> None:
    """One case and every change recorded for it."""
    from pipecast.store.cases import get_case

    with open_store(ctx) as store:
        case, events = get_case(store, case_id)
    if as_json:
        echo_json({**case.as_dict(), "events": [e.as_dict() for e in events]})
        return
    for key, value in case.as_dict().items():
        echo(f"{key}: {safe(value)}")
    for e in events:
        note = f" ({safe(e.note)})" if e.note else ""
        echo(f"  {e.seq}. {e.on} {e.action} by {safe(e.actor)}: {safe(e.changes)}{note}")


def stats_command(ctx: typer.Context, on: OnOption = None, as_json: JsonOption = False) -> None:
    """Per department: cases, unresolved, overdue, share closed in time, median days to close."""
    from pipecast.cases import department_stats
    from pipecast.store.cases import departments, list_cases

    today = _on(on)
    with open_store(ctx) as store:
        rows = department_stats(list_cases(store), today, [d.id for d in departments(store.organisations())])
    if as_json:
        echo_json({"as_of": today, "departments": [r.as_dict() for r in rows]})
        return
    echo("department\tcases\tunresolved\toverdue\tclosed in time\tmedian days to close")
    for r in rows:
        share = f"{r.closed_in_time}/{r.judged} ({r.share_in_time:.0%})" if r.share_in_time is not None else "-"
        median = f"{r.median_days_to_close:g}" if r.median_days_to_close is not None else "-"
        echo(f"{safe(r.department)}\t{r.cases}\t{r.unresolved}\t{r.overdue}\t{share}\t{median}")


def verify_command(ctx: typer.Context) -> None:
    """Recompute the case events' hash chain and replay them against each case; exit 1 on a problem."""
    from pipecast.store.cases import verify_cases

    with open_store(ctx) as store:
        problems = verify_cases(store)
    for p in problems:
        echo(f"problem: {safe(p)}")
    if problems:
        raise typer.Exit(1)
    echo("cases: every event is in the hash chain and every case matches its events")


def register(app: typer.Typer) -> None:
    cases_app = typer.Typer(help="Support cases of the plan's task force: add, move, list, show, stats.",
                            no_args_is_help=True)
    for name, command in (("add", add_command), ("move", move_command), ("list", list_command),
                          ("show", show_command), ("stats", stats_command), ("verify", verify_command),
                          ("add-department", add_department_command), ("departments", departments_command)):
        cases_app.command(name)(command)
    app.add_typer(cases_app, name="cases")
