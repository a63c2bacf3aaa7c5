"""Find the KB for a command, building the starter KB once when there is none."""

from __future__ import annotations

import sys

from consult.config import Settings
from consult.kb.store import KnowledgeBase


def ensure_kb(settings: Settings) -> KnowledgeBase:
    """Open the configured KB; with none configured or present, build the starter KB first.

    An explicitly configured ``CONSULT_KB_PATH`` that does not exist is an error (a typo should
    not silently give answers from the starter set); only the default location is auto-built.
    """
    path = settings.resolved_kb_path
    if not path.exists():
        if settings.kb_path is not None:
            from consult.errors import KnowledgeBaseError

            raise KnowledgeBaseError(
                f"CONSULT_KB_PATH points to {path}, which does not exist. "
                "Build it with `consult kb build --out PATH` or unset CONSULT_KB_PATH."
            )
        from consult.kb.build import build_kb

        print(f"consult: no knowledge base yet; building the starter KB at {path} ...",
              file=sys.stderr)
        build_kb(path)
    return KnowledgeBase(path)
