"""Public pseudonyms for participants and the student's chosen final submissions (issue 11).

Existing participants get a random pseudonym, so no roster name ever reaches a public page.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("display_name", sa.String(40), nullable=True))
    connection = op.get_bind()
    participant = sa.table("participant", sa.column("id"), sa.column("display_name"))
    for (participant_id,) in connection.execute(sa.select(participant.c.id)).all():
        connection.execute(
            participant.update()
            .where(participant.c.id == participant_id)
            .values(display_name=f"anonymous-{secrets.token_hex(4)}")
        )
    with op.batch_alter_table("participant") as batch:
        batch.alter_column("display_name", existing_type=sa.String(40), nullable=False)
        batch.create_unique_constraint("uq_participant_display_name", ["display_name"])
    with op.batch_alter_table("submission") as batch:
        batch.add_column(
            sa.Column("chosen", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("chosen")
    with op.batch_alter_table("participant") as batch:
        batch.drop_constraint("uq_participant_display_name", type_="unique")
        batch.drop_column("display_name")
