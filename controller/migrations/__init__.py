"""Alembic migrations of the controller's database (`wf migrate`)."""
