"""The `kerasexp` command: one module a verb, registered in kerasexp.cli.main.VERBS."""

from kerasexp.cli.main import VERBS, build_parser, main

__all__ = ["VERBS", "build_parser", "main"]
