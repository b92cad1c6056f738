"""The shared store: one PostgreSQL database for every process of a deployment (psycopg 3)."""

from bot.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
