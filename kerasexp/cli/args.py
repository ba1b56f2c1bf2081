"""What every verb shares: the one-line argparse parser, the `type=` functions of its flags, the
entry-point wrapper that prints a UserError as one line, and the checks of the files a verb reads
before TensorFlow is imported."""

from __future__ import annotations

import argparse
import functools
import sys

from kerasexp.errors import UserError, mask_secrets


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


def add_overrides(parser) -> None:
    """`--set SECTION.KEY=VALUE`, as every verb that reads an experiment file takes it."""
    parser.add_argument(
        "--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value (repeatable)"
    )


def read_experiment(path, overrides=()):
    """An experiment file as `kerasexp train` reads it: every key, value, name (model parameters
    and backbone included) and data path checked, importing no TensorFlow, Keras or Optuna."""
    from kerasexp.config import load_experiment
    from kerasexp.models import check_model

    exp = load_experiment(path, overrides)
    check_model(exp.model.name, exp.model.params)
    return exp


def read_study(path, overrides=()):
    """A study file as `kerasexp study` reads it (kerasexp.tuning.config.load_study_file): checked
    whole, data paths included, before Optuna is imported or any storage created."""
    from kerasexp.tuning.config import load_study_file

    return load_study_file(path, overrides)
