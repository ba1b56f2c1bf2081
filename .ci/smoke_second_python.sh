#!/usr/bin/env bash
# Smoke test on a second Python: install kerasexp (not editable, as a user would) into a fresh
# venv of pyenv's Python 3.12 (TensorFlow 2.21 ships wheels for 3.10-3.13; CI's main Python is
# 3.11), then, from outside the checkout so the installed copy is the one imported: the import,
# `kerasexp --version`, a config error (exit 2, one line on stderr, no traceback) and a one-epoch
# run on 500 Fashion-MNIST images. Exits non-zero on the first failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${KERASEXP_SECOND_PYTHON:-$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3 2>/dev/null | sort -V | tail -1)}
if [ -z "$python" ] || [ ! -x "$python" ]; then
  echo "smoke: no second Python (pyenv 3.12 or \$KERASEXP_SECOND_PYTHON); install one to run this check" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "smoke ($("$python" -V)): $*" >&2; exit 1; }

"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$repo"
cd "$work"
export PATH="$work/venv/bin:$PATH"
[ "$(python -c 'import kerasexp; print(kerasexp.__file__)')" != "${repo}/kerasexp/__init__.py" ] || fail "imported the checkout, not the install"
[ "$(kerasexp --version)" = "kerasexp $(python -c 'import kerasexp; print(kerasexp.__version__)')" ] || fail "--version"

set +e
err=$(kerasexp train "$repo/studies/fmnist_step_decay.toml" --set training.epochs=0 2>&1 >/dev/null)
code=$?
set -e
[ "$code" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ "$err" == *"training.epochs"* ]] \
  || fail "a config error should exit 2 with one line naming training.epochs; got exit $code: $err"

kerasexp train "$repo/studies/fmnist_step_decay.toml" --set dataset.limit=500 --set training.epochs=1 --out "$work/run"
[ -s "$work/run/metrics.json" ] || fail "the one-epoch run wrote no metrics.json"
echo "smoke ($(python -V)): install, --version, config error, one-epoch run: ok"
