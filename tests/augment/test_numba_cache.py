"""numba's compiled RandAugment kernels go to the user's cache folder, never into the package."""

import os
import subprocess
import sys
from pathlib import Path

import kerasexp.augment

PACKAGE = Path(kerasexp.augment.__file__).parent
COMPILE = "from kerasexp.augment.randaugment import _u8; _u8(1.5); print(_u8._cache._cache_path)"


def _numba_files():
    return {p for p in PACKAGE.rglob("*") if p.suffix in (".nbi", ".nbc")}


def _cache_path(code: str, **env) -> Path:
    env = {
        **{k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"},
        **env,
        "PYTHONPATH": str(PACKAGE.parents[1]),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(done.stdout.strip().splitlines()[-1])


def test_kernels_are_cached_in_the_user_cache_folder_not_the_package(tmp_path):
    before = _numba_files()
    cache = _cache_path(COMPILE, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert cache.is_relative_to(tmp_path / "xdg" / "numba") and list(cache.glob("randaugment._u8*.nbi"))
    assert _numba_files() == before  # nothing written into kerasexp/augment
    # NUMBA_CACHE_DIR, where the user sets it, still wins
    code = "from kerasexp.augment.randaugment import _u8; print(_u8._cache._cache_path)"
    assert _cache_path(code, NUMBA_CACHE_DIR=str(tmp_path / "mine")).is_relative_to(tmp_path / "mine")
