"""Deals and funding events (issue 11): dated, sourced, append-only and hash-chained.

* `deals`: a licence as published (upfront, development and sales milestones, headline; NULL if not
  published) and, when a user records a DEAL.yaml, its structure as JSON in `terms`.
* `funding_events`: loans (rate, term, collateral), grants, subsidies, rewards, equity rounds, funds and
  agreed investments.
* The same protections as the other history tables: no UPDATE, DELETE or INSERT OR REPLACE (SQLite),
  no UPDATE, DELETE or TRUNCATE (PostgreSQL), and every row chained in `history_chain` (`pipecast verify`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("deals", "funding_events")
KINDS = ("loan", "grant", "subsidy", "reward", "equity", "fund", "investment")


def _source_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("source_title", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("candidate", sa.String(200), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("licensor", sa.String(500), nullable=False),
        sa.Column("licensee", sa.String(500), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("date_text", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("upfront", sa.Float(), nullable=True),
        sa.Column("development_milestones", sa.Float(), nullable=True),
        sa.Column("sales_milestones", sa.Float(), nullable=True),
        sa.Column("headline", sa.Float(), nullable=True),
        sa.Column("royalties", sa.Text(), nullable=False),
        sa.Column("territory", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        *_source_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_deals"),
        sa.UniqueConstraint("key", name="uq_deals_key"),
    )
    op.create_table(
        "funding_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(500), nullable=False),
        sa.Column("candidate", sa.String(200), nullable=False),
        sa.Column("funder", sa.String(500), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("date_text", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("amount_text", sa.Text(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.Column("term_months", sa.Float(), nullable=True),
        sa.Column("collateral", sa.Text(), nullable=False),
        sa.Column("round", sa.String(200), nullable=False),
        sa.Column("programme", sa.Text(), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=True),
        *_source_columns(),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")",
                           name="ck_funding_events_kind_known"),
        sa.PrimaryKeyConstraint("id", name="pk_funding_events"),
        sa.UniqueConstraint("key", name="uq_funding_events_key"),
    )
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
            op.execute(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with that id exists'); END"
            )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION pipecast_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION pipecast_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            for name in ("no_update", "no_delete", "no_replace"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.drop_table("funding_events")
    op.drop_table("deals")
