"""Every flag and argument of every `kerasexp` command says what it is for; --version answers."""

import argparse
import subprocess
import sys

import pytest

import kerasexp
from kerasexp.cli import build_parser


def _commands(parser):
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_every_argument_of_every_command_has_help():
    parser = build_parser()
    missing = [
        f"{name} {action.dest}"
        for name, command in _commands(parser).items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()
    ]
    assert missing == []
    assert {"train", "report", "compare", "study", "study-report", "predict", "augment-preview"} <= set(
        _commands(parser)
    )
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert all(choice.help.strip() for choice in sub._choices_actions)  # each command's line in `kerasexp -h`
    top = [
        a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]
    assert [a.dest for a in top] == ["version"] and all(a.help.strip() for a in top)


def test_version_prints_the_package_version_and_exits_zero():
    done = subprocess.run(
        [sys.executable, "-m", "kerasexp", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"kerasexp {kerasexp.__version__}\n", "")


def test_version_needs_no_command():
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--version"])
    assert exit_info.value.code == 0
