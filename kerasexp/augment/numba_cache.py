"""numba kernels compiled once and kept in the user's cache folder, never inside the installed package.

numba's `cache=True` writes next to the source (kerasexp/augment/__pycache__) whenever that folder is
writable: a site-packages or a shared checkout gets files written into it by whoever runs it.
NUMBA_CACHE_DIR would move them, but it is process-wide state that also moves the user's own kernels,
so `njit` here gives each kerasexp kernel its own cache instead: NUMBA_CACHE_DIR where the user set it,
else numba's user-wide folder (~/.cache/numba, $XDG_CACHE_HOME/numba); no caching where neither can
be written.
"""

from __future__ import annotations

import numba
from numba.core import caching


def _numba(name: str):
    """numba 0.60 spells its cache classes with a leading underscore, later versions without."""
    return getattr(caching, name, None) or getattr(caching, "_" + name)


class _UserCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_numba("UserProvidedCacheLocator"), _numba("UserWideCacheLocator")]


class UserFunctionCache(caching.FunctionCache):
    """numba's function cache, found only in NUMBA_CACHE_DIR or the user-wide folder."""

    _impl_class = _UserCacheImpl


def njit(*args, cache: bool = False, **options):
    """numba.njit; cache=True caches in the user's folder (see the module docstring)."""

    def decorate(func):
        dispatcher = numba.njit(**options)(func)
        if cache:
            try:
                # what Dispatcher.enable_caching sets, with our locators
                dispatcher._cache = UserFunctionCache(dispatcher.py_func)
            except RuntimeError:  # no writable cache folder: compile every time
                pass
        return dispatcher

    return decorate(args[0]) if args and callable(args[0]) else decorate
