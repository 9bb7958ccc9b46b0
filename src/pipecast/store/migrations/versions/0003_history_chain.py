"""History that cannot be rewritten unseen: refuse what triggers can refuse, chain the rest.

* SQLite: a BEFORE INSERT trigger on every append-only table aborts when a row with the same id exists,
  which closes `INSERT OR REPLACE` (its implicit delete fires no DELETE trigger); candidates may no longer
  be deleted or replaced.
* PostgreSQL: BEFORE TRUNCATE triggers on the history and candidate tables (`TRUNCATE ... CASCADE`
  included); candidates may no longer be deleted.
* `history_chain`: one append-only link per history row (and per candidate's existence), each hashed
  with the one before; the existing rows are chained here. `pipecast verify` recomputes it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("phase_events", "facts", "resolution_actions", "asset_redirects", "event_reassignments")
GUARDED = (*APPEND_ONLY, "history_chain", "assets")


def upgrade() -> None:
    op.create_table(
        "history_chain",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("row_id", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_history_chain"),
        sa.UniqueConstraint("table_name", "row_id", name="uq_history_chain_table_name_row_id"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_triggers()
    elif dialect == "postgresql":
        _postgresql_triggers()
    from pipecast.store.chain import chain_all

    chain_all(op.get_bind())


def _sqlite_triggers() -> None:
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with that id exists'); END"
        )
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER history_chain_no_{verb.lower()} BEFORE {verb} ON history_chain "
            "BEGIN SELECT RAISE(ABORT, 'history_chain is append-only'); END"
        )
    op.execute("CREATE TRIGGER assets_no_delete BEFORE DELETE ON assets "
               "BEGIN SELECT RAISE(ABORT, 'assets cannot be deleted (merge them instead)'); END")


def _postgresql_triggers() -> None:
    op.execute(
        "CREATE TRIGGER history_chain_append_only BEFORE UPDATE OR DELETE ON history_chain "
        "FOR EACH ROW EXECUTE FUNCTION pipecast_append_only()"
    )
    op.execute(
        "CREATE TRIGGER assets_no_delete BEFORE DELETE ON assets FOR EACH ROW EXECUTE FUNCTION pipecast_append_only()"
    )
    for table in GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pipecast_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
        for name in ("history_chain_no_update", "history_chain_no_delete", "assets_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS assets_no_delete ON assets")
        op.execute("DROP TRIGGER IF EXISTS history_chain_append_only ON history_chain")
    op.drop_table("history_chain")
