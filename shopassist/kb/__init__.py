"""The knowledge base: SQLite through sqlite-utils. Knows nothing of dialogue or UI."""

from shopassist.kb.db import open_db

__all__ = ["open_db"]
