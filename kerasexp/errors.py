"""User-facing errors: one line naming the problem and the fix, exit code 2, no traceback."""

from __future__ import annotations

import argparse
import functools
import re
import sys

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


def exit_on_user_error(main):
    """Wrap a CLI entry point so a UserError prints one line and exits 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"kerasexp: error: {mask_secrets(err)}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("kerasexp: interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {mask_secrets(message)} (see --help)\n")


def int_at_least(minimum: int):
    """An argparse type: an integer >= `minimum`, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def seed_list(text: str) -> list[int]:
    """An argparse type: comma-separated non-negative integers, each once (e.g. 0,1,2)."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct non-negative integers like 0,1,2, got {text!r}")
    return seeds
