"""Initial schema: assets, aliases, organisations, append-only phase_events and facts, import_batches.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASES = ("preclinical", "phase1", "phase2", "phase3", "filed", "approved", "discontinued", "suspended")
APPEND_ONLY = ("phase_events", "facts")


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", _tz(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("assets_added", sa.Integer(), nullable=False),
        sa.Column("assets_updated", sa.Integer(), nullable=False),
        sa.Column("events_added", sa.Integer(), nullable=False),
        sa.Column("facts_added", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_batches"),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("city", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(200), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("sponsor", sa.String(500), nullable=False),
        sa.Column("modality", sa.String(200), nullable=False),
        sa.Column("therapeutic_area", sa.String(200), nullable=False),
        sa.Column("indication", sa.Text(), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("nmpa_class", sa.String(50), nullable=False),
        sa.Column("jurisdiction", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.CheckConstraint("count >= 1", name="ck_assets_count_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
    )
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_id", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(500), nullable=False),
        sa.Column("norm", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_aliases_asset_id_assets", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_aliases"),
        sa.UniqueConstraint("asset_id", "norm", name="uq_aliases_asset_id_norm"),
    )
    op.create_index("ix_aliases_norm", "aliases", ["norm"])
    op.create_table(
        "phase_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_id", sa.String(200), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("indication", sa.Text(), nullable=False),
        sa.Column("source_title", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("recorded", sa.Date(), nullable=True),
        sa.Column("recorded_at", _tz(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "phase IN (" + ", ".join(f"'{p}'" for p in PHASES) + ")", name="ck_phase_events_phase_known"
        ),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_phase_events_asset_id_assets"),
        sa.ForeignKeyConstraint(
            ["import_batch_id"], ["import_batches.id"], name="fk_phase_events_import_batch_id_import_batches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_phase_events"),
    )
    op.create_index("ix_phase_events_asset_id_date", "phase_events", ["asset_id", "date"])
    op.create_index("ix_phase_events_import_batch_id", "phase_events", ["import_batch_id"])
    op.create_table(
        "facts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(500), nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(50), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("as_of_text", sa.String(200), nullable=False),
        sa.Column("source_title", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", _tz(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"], ["import_batches.id"], name="fk_facts_import_batch_id_import_batches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_facts"),
    )
    op.create_index("ix_facts_entity_field", "facts", ["entity", "field"])
    op.create_index("ix_facts_import_batch_id", "facts", ["import_batch_id"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """History rows may be inserted, never updated or deleted, whatever client writes to the database."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION pipecast_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION pipecast_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    elif dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS pipecast_append_only()")
    op.drop_index("ix_facts_import_batch_id", table_name="facts")
    op.drop_index("ix_facts_entity_field", table_name="facts")
    op.drop_table("facts")
    op.drop_index("ix_phase_events_import_batch_id", table_name="phase_events")
    op.drop_index("ix_phase_events_asset_id_date", table_name="phase_events")
    op.drop_table("phase_events")
    op.drop_index("ix_aliases_norm", table_name="aliases")
    op.drop_table("aliases")
    op.drop_table("assets")
    op.drop_table("organisations")
    op.drop_table("import_batches")
