"""Where the tests find things: this checkout, and the shared data beside it (../shared).

The one place that knows the layout. ``CONSULT_SHARED`` points elsewhere (a CI machine that
mounts the data somewhere else); nothing here is an absolute path.
"""

from __future__ import annotations

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SHARED = Path(os.environ.get("CONSULT_SHARED", REPO.parent / "shared"))
#: The real CMS files (NCCI, MUE, AOC, RVU, HCPCS): read in place, never copied into the repo.
CMS = SHARED / "data" / "cms"
#: The Medicare Coverage Database's list of documents.
MCD = SHARED / "data" / "mcd"
#: The public robustness corpus of real-world MIME.
MAIL_CORPUS = SHARED / "data" / "mail-corpus"
