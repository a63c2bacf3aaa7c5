"""Email-based medical coding consultation service.

A consultation mail goes: raw bytes -> ``consult.mail`` (parse) -> ``consult.extract`` (codes and
narrative) -> ``consult.findings`` (rules over the knowledge base in ``consult.kb``) ->
``consult.draft`` (a cited reply) -> the review queue (``consult.review``, ``consult.web``) ->
``consult.outbox`` -> the sender in ``workers/``.
"""

__version__ = "0.1.0"
