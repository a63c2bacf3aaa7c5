"""The code knowledge base: a versioned, read-only SQLite file (see DESIGN.md)."""

from consult.kb.store import KnowledgeBase

__all__ = ["KnowledgeBase"]
