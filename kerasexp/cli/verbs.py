"""The `kerasexp` command: VERBS names each verb's module, which builds its sub-parser and runs it.

A verb module holds HELP (its line in `kerasexp --help`), add_arguments(parser) and run(args) -> int;
optionally check(args), which reads and checks the verb's files before TensorFlow is imported (a
typo or a missing data folder is one line, at once), and TENSORFLOW = False for a verb that needs
none. Its top level imports no TensorFlow, Keras or Optuna: every verb's module is imported to build
the parser. Adding a verb is a module and one line in VERBS.
"""

from __future__ import annotations

import importlib
import sys

from kerasexp import import_tensorflow_quietly
from kerasexp.cli.args import ArgumentParser, exit_on_user_error

# verb -> its module, in the order `kerasexp --help` lists them
VERBS = {
    "train": "kerasexp.cli.train",
    "report": "kerasexp.cli.report",
    "compare": "kerasexp.cli.compare",
    "variants": "kerasexp.cli.variants",
    "bench": "kerasexp.cli.bench",
    "reports": "kerasexp.cli.reports",
    "study": "kerasexp.cli.study",
    "study-report": "kerasexp.cli.study_report",
    "study-compare": "kerasexp.cli.study_compare",
    "grid": "kerasexp.cli.grid",
    "dedup": "kerasexp.cli.dedup",
    "predict": "kerasexp.cli.predict",
    "filters": "kerasexp.cli.filters",
    "augment-preview": "kerasexp.cli.augment_preview",
}
DESCRIPTION = (
    "`kerasexp` command: train | report | variants | bench | study | study-report. "
    "Same verbs for every experiment."
)


def verb_module(verb: str):
    return importlib.import_module(VERBS[verb])


def build_parser() -> ArgumentParser:
    from kerasexp import __version__

    parser = ArgumentParser(prog="kerasexp", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"kerasexp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    for verb in VERBS:
        module = verb_module(verb)
        module.add_arguments(sub.add_parser(verb, help=module.HELP))
    return parser


@exit_on_user_error
def main(argv=None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    verb = verb_module(args.command)
    if hasattr(verb, "check"):
        verb.check(args)
    if getattr(verb, "TENSORFLOW", True):
        import_tensorflow_quietly()
    return verb.run(args)


if __name__ == "__main__":
    sys.exit(main())
