"""The case database: SQLModel tables, the engine, Alembic migrations.

SQLite (a file under CONSULT_HOME) by default, PostgreSQL when CONSULT_DATABASE_URL says so.
"""
