#!/usr/bin/env bash
# The documentation: a strict MkDocs build (the references generated from the code), then the
# figures the README, the documentation and reports/README.md quote, checked against reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 NO_MKDOCS_2_WARNING=1
python -m pip install -q "mkdocs>=1.6" "mkdocs-material>=9.5"
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
python -m mkdocs build --strict --site-dir "$site"
python .ci/check_doc_figures.py
