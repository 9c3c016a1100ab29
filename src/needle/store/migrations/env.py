"""Alembic environment: run with the connection needle.store hands over (no alembic.ini)."""

from alembic import context

from needle.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
