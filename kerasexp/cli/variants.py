"""`kerasexp variants`: report 002's variant table, the same command as `python -m kerasexp.variants`
(whose module owns the flags)."""

from __future__ import annotations

from kerasexp import variants

HELP = "report 002's variant table (python -m kerasexp.variants)"

add_arguments = variants.add_arguments


def check(args) -> None:
    """A bad variant name refused before TensorFlow is imported."""
    variants.parse_variants(args.variants)


def run(args) -> int:
    variants.run_variants(args)
    return 0
