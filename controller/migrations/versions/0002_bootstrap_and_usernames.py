"""the bootstrap row; usernames unique whatever their case

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A database that already has users gets its bootstrap row (the platform is
set up). Usernames that differ only in case cannot both stay: the upgrade
stops and names them, for the operator to rename one (no account is renamed
behind its owner's back).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    clashes = connection.execute(
        sa.text("SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1")
    ).scalars()
    clashing = sorted(clashes)
    if clashing:
        raise RuntimeError(
            "usernames must be unique whatever their case, and these are not: "
            + ", ".join(clashing)
            + ". Rename all but one of each (UPDATE users SET username = ... WHERE id = ...), "
            "then migrate again."
        )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "bootstrap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_bootstrap_one_row"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_bootstrap_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bootstrap"),
    )
    # Already set up: the first admin (or, failing one, the first user) founded it.
    connection.execute(
        sa.text(
            "INSERT INTO bootstrap (id, user_id, created_at) "
            "SELECT 1, id, created_at FROM users "
            "ORDER BY is_admin DESC, id LIMIT 1"
        )
    )


def downgrade() -> None:
    op.drop_table("bootstrap")
    op.drop_index("uq_users_username_lower", table_name="users")
