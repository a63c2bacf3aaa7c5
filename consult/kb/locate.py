"""Find the KB for a command, building the starter KB once when there is none."""

from __future__ import annotations

import sys

from consult.config import Settings
from consult.errors import KnowledgeBaseError
from consult.kb.store import KnowledgeBase


def ensure_kb(settings: Settings) -> KnowledgeBase:
    """Open the configured KB; with none configured or present, build the starter KB first.

    An explicitly configured ``CONSULT_KB_PATH`` that does not exist is an error (a typo should
    not silently give answers from the starter set); only the default location is auto-built.
    """
    path = settings.resolved_kb_path
    if not path.exists():
        if settings.kb_path is not None:
            raise KnowledgeBaseError(
                f"CONSULT_KB_PATH points to {path}, which does not exist. "
                "Build it with `consult kb build --out PATH` or unset CONSULT_KB_PATH."
            )
        from consult.kb.build import build_kb

        print(f"consult: no knowledge base yet; building the starter KB at {path} ...",
              file=sys.stderr)
        build_kb(path)
    try:
        return KnowledgeBase(path)
    except KnowledgeBaseError:
        if settings.kb_path is not None:
            raise
    # the default KB was built by an older version of consult: rebuild the starter KB
    from consult.kb.build import build_kb

    print(f"consult: the knowledge base at {path} is from an older version; rebuilding the "
          "starter KB (run `consult kb build --from DIR` again for the CMS files, or "
          "`consult kb update` to download them) ...", file=sys.stderr)
    build_kb(path)
    return KnowledgeBase(path)
