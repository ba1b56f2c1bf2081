"""MkDocs hook: fills the `<!-- reference:NAME -->` markers from the code (kerasexp/docs_reference.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kerasexp.docs_reference import fill  # noqa: E402


def on_page_markdown(markdown, page, config, files):
    return fill(markdown)
