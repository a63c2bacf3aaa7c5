"""Email-based medical coding consultation service.

A consultation mail goes: raw bytes -> ``consult.mail`` (parse) -> ``consult.extract`` (codes and
narrative) -> ``consult.findings`` (rules over the knowledge base in ``consult.kb``) ->
``consult.draft`` (a cited reply) -> the review queue (``consult.review``, ``consult.web``) ->
the outbox table (``db.models.Outbox``) -> the sender in ``workers/``. ``consult.intake`` stores
and threads the mail around that core; ``consult.runner`` runs every worker's items one by one.
"""

__version__ = "0.1.0"
