"""The audit log joins the history hash chain (issue 10).

From here on every audit row is linked into `history_chain` as it is written (`pipecast.store.audit.record`),
so `pipecast verify` finds an audit row changed, deleted or written outside pipecast, as for the history
tables. This migration links the audit rows written before it, oldest first. No table or column changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from pipecast.store.chain import chain_all

    chain_all(op.get_bind(), ("audit_log",))


def downgrade() -> None:
    """The links stay: history_chain is append-only (its triggers refuse DELETE); an older pipecast ignores them."""
