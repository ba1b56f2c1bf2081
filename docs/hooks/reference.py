"""MkDocs hook: fills the `<!-- reference:NAME -->` markers from the code (docs/gen_reference.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT, ROOT / "docs"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from gen_reference import fill  # noqa: E402


def on_page_markdown(markdown, page, config, files):
    return fill(markdown)
