"""The `kerasexp` command: argparse in commands.py, the smaller tools beside it."""

from kerasexp.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
