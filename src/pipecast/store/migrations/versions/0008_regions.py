"""Regions (issue 12): the region tree and the attribution of organisations to regions.

* `regions`: id, name, kind (country, province, city, district, park), parent_id (another region, or NULL),
  aliases ("|"-separated: what the attribution matches in a city text or a name) and source.
* `organisation_regions`: the region each attributed organisation lies in, with how it was attributed.
  Candidates are attributed through their sponsors (a cohort without a sponsor by its name) when queried.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.String(100), nullable=True),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('country', 'province', 'city', 'district', 'park')",
                           name="ck_regions_kind_known"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_regions_not_own_parent"),
        sa.ForeignKeyConstraint(["parent_id"], ["regions.id"], name="fk_regions_parent_id_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_regions"),
    )
    op.create_index("ix_regions_parent_id", "regions", ["parent_id"])
    op.create_table(
        "organisation_regions",
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("region_id", sa.String(100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name="fk_organisation_regions_organisation_id_organisations"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_organisation_regions_region_id_regions"),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_organisation_regions"),
    )
    op.create_index("ix_organisation_regions_region_id", "organisation_regions", ["region_id"])


def downgrade() -> None:
    op.drop_index("ix_organisation_regions_region_id", table_name="organisation_regions")
    op.drop_table("organisation_regions")
    op.drop_index("ix_regions_parent_id", table_name="regions")
    op.drop_table("regions")
