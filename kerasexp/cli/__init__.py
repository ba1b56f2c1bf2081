"""The `kerasexp` command: one module a verb, registered in kerasexp.cli.verbs.VERBS."""

from kerasexp.cli.verbs import VERBS, build_parser, main

__all__ = ["VERBS", "build_parser", "main"]
