"""User-facing errors: one line naming the problem and the fix, exit code 2, no traceback (the
command line prints them: kerasexp.cli.args.exit_on_user_error)."""

from __future__ import annotations

import re

# scheme://user:PASSWORD@host: the password runs to the last "@" before a space or a quote (a raw "@" in
# a password is legal for SQLAlchemy's URL parser).
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s'\"]*(?=@)")
# password=..., passwd=..., pwd=..., PGPASSWORD=... in query strings, libpq key=value strings and env lines.
_KEY_PASSWORD = re.compile(r"(?i)(\b\w*(?:password|passwd|pwd)=)[^\s&;'\"]+")


def mask_secrets(text: str) -> str:
    """`text` with every URL password and password=... value replaced by ***: the ONE function every
    recorded command line, storage URL and printed line goes through (runs, studies, reports, logs)."""
    return _KEY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***", str(text)))


def first_line(err: BaseException, limit: int | None = None) -> str:
    """An exception's first line (its type's name when it says nothing), for a one-line message."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:limit]


class UserError(Exception):
    """Bad input from the user (a flag, a file, a config). The message says what and how to fix."""
