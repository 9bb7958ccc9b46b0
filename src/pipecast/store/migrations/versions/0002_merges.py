"""Entity resolution: audited, undoable merges and splits, append-only.

`resolution_actions` is the audit log (merge, split, undo; reason, actor, time). A merge adds
`asset_redirects` rows (merged id -> surviving id), a split adds `event_reassignments` rows
(phase event -> new asset); the store's views apply those that are not undone. An undo is a new action
whose `undoes_id` names the one it reverses (unique: nothing is undone twice). All three tables are
append-only, enforced by triggers like `phase_events` and `facts`; no history row is rewritten.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ("merge", "split", "undo")
APPEND_ONLY = ("resolution_actions", "asset_redirects", "event_reassignments")


def upgrade() -> None:
    op.create_table(
        "resolution_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("target_id", sa.String(200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")", name="ck_resolution_actions_action_known"
        ),
        sa.ForeignKeyConstraint(
            ["undoes_id"], ["resolution_actions.id"], name="fk_resolution_actions_undoes_id_resolution_actions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_resolution_actions"),
        sa.UniqueConstraint("undoes_id", name="uq_resolution_actions_undoes_id"),
    )
    op.create_table(
        "asset_redirects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.String(200), nullable=False),
        sa.Column("into_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["resolution_actions.id"], name="fk_asset_redirects_action_id_resolution_actions"
        ),
        sa.ForeignKeyConstraint(["from_id"], ["assets.id"], name="fk_asset_redirects_from_id_assets"),
        sa.ForeignKeyConstraint(["into_id"], ["assets.id"], name="fk_asset_redirects_into_id_assets"),
        sa.PrimaryKeyConstraint("id", name="pk_asset_redirects"),
    )
    op.create_index("ix_asset_redirects_action_id", "asset_redirects", ["action_id"])
    op.create_index("ix_asset_redirects_from_id", "asset_redirects", ["from_id"])
    op.create_table(
        "event_reassignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("from_asset_id", sa.String(200), nullable=False),
        sa.Column("to_asset_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["resolution_actions.id"], name="fk_event_reassignments_action_id_resolution_actions"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["phase_events.id"], name="fk_event_reassignments_event_id_phase_events"
        ),
        sa.ForeignKeyConstraint(
            ["from_asset_id"], ["assets.id"], name="fk_event_reassignments_from_asset_id_assets"
        ),
        sa.ForeignKeyConstraint(["to_asset_id"], ["assets.id"], name="fk_event_reassignments_to_asset_id_assets"),
        sa.PrimaryKeyConstraint("id", name="pk_event_reassignments"),
    )
    op.create_index("ix_event_reassignments_action_id", "event_reassignments", ["action_id"])
    op.create_index("ix_event_reassignments_event_id", "event_reassignments", ["event_id"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The same guard as 0001's: rows may be inserted, never updated or deleted."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        for table in APPEND_ONLY:  # pipecast_append_only() comes from 0001
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION pipecast_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_index("ix_event_reassignments_event_id", table_name="event_reassignments")
    op.drop_index("ix_event_reassignments_action_id", table_name="event_reassignments")
    op.drop_table("event_reassignments")
    op.drop_index("ix_asset_redirects_from_id", table_name="asset_redirects")
    op.drop_index("ix_asset_redirects_action_id", table_name="asset_redirects")
    op.drop_table("asset_redirects")
    op.drop_table("resolution_actions")
