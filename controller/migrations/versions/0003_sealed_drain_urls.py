"""drain URLs encrypted at rest

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

`drains.url` (plaintext, credentials and all) becomes `drains.sealed_url`
(Fernet, see controller/auth/sealing.py). Existing rows are encrypted here,
with the sealer the controller passes (`migrate(..., sealer=...)`: the
controller's start and `wf migrate` do); the downgrade decrypts them back.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_drains = sa.table(
    "drains",
    sa.column("id", sa.String()),
    sa.column("url", sa.Text()),
    sa.column("sealed_url", sa.Text()),
)


def _sealer(rows: int) -> Any:
    config = op.get_context().config
    sealer = config.attributes.get("sealer") if config is not None else None
    if sealer is None and rows:
        raise RuntimeError(
            f"{rows} stored drain URL(s) must be encrypted or decrypted: migrate with the "
            "controller's key (its start, or `wf migrate`, with WF_SECRET_KEY or its key file)"
        )
    return sealer


@contextmanager
def _drains_batch() -> Iterator[Any]:
    # SQLite's batch mode reflects the tables drains refers to, and says that
    # it cannot reflect users' lower(username) index: drains alone is rebuilt.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        with op.batch_alter_table("drains") as batch:
            yield batch


def _count() -> int:
    return int(op.get_bind().execute(sa.select(sa.func.count()).select_from(_drains)).scalar_one())


def upgrade() -> None:
    sealer = _sealer(_count())
    with _drains_batch() as batch:
        batch.add_column(sa.Column("sealed_url", sa.Text(), nullable=True))
    connection = op.get_bind()
    for drain_id, url in connection.execute(sa.select(_drains.c.id, _drains.c.url)).all():
        connection.execute(
            _drains.update().where(_drains.c.id == drain_id).values(sealed_url=sealer.seal(url))
        )
    with _drains_batch() as batch:
        batch.alter_column("sealed_url", existing_type=sa.Text(), nullable=False)
        batch.drop_column("url")


def downgrade() -> None:
    sealer = _sealer(_count())
    with _drains_batch() as batch:
        batch.add_column(sa.Column("url", sa.Text(), nullable=True))
    connection = op.get_bind()
    for drain_id, sealed in connection.execute(sa.select(_drains.c.id, _drains.c.sealed_url)).all():
        connection.execute(
            _drains.update().where(_drains.c.id == drain_id).values(url=sealer.open(sealed))
        )
    with _drains_batch() as batch:
        batch.alter_column("url", existing_type=sa.Text(), nullable=False)
        batch.drop_column("sealed_url")
