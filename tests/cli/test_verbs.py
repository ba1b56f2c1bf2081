"""kerasexp.cli.verbs.VERBS is the command: every verb a module with HELP, add_arguments and run,
`kerasexp --help` lists exactly those verbs in that order, and building the parser from all of them
imports no TensorFlow, Keras or Optuna (a bad file is refused before any of them loads)."""

import argparse
import importlib
import subprocess
import sys
import textwrap

import pytest

from kerasexp.cli import VERBS, build_parser, main


@pytest.mark.parametrize("verb", list(VERBS))
def test_every_verb_is_a_module_with_help_add_arguments_and_run(verb):
    module = importlib.import_module(VERBS[verb])
    assert callable(module.add_arguments) and callable(module.run)
    assert isinstance(module.HELP, str) and module.HELP.strip() and "\n" not in module.HELP
    assert not hasattr(module, "check") or callable(module.check)
    parser = argparse.ArgumentParser(prog=f"kerasexp {verb}")
    module.add_arguments(parser)
    assert [a for a in parser._actions if not isinstance(a, argparse._HelpAction)], verb


def test_help_lists_exactly_the_table_s_verbs_in_its_order(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "  {" + ",".join(VERBS) + "}\n" in text
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert list(sub.choices) == list(VERBS)
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert helps == {verb: importlib.import_module(module).HELP for verb, module in VERBS.items()}


def test_an_unknown_verb_is_one_line_naming_the_verbs(capsys):
    with pytest.raises(SystemExit) as info:
        main(["trian"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.splitlines()) == 1, err
    assert "invalid choice: 'trian'" in err and ", ".join(map(repr, VERBS)) in err, err


def test_a_bad_file_is_refused_after_building_every_verb_without_heavy_imports(tmp_path):
    (tmp_path / "bad.toml").write_text("[training]\nepoch = 3\n")
    code = textwrap.dedent("""
        import sys
        from kerasexp.cli import main
        try:
            main(["train", "bad.toml"])
        except SystemExit as exit:
            print(exit.code, sorted(m for m in ("tensorflow", "keras", "optuna") if m in sys.modules))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.stdout == "2 []\n", done.stdout + done.stderr
    assert done.stderr.startswith("kerasexp: error: ") and "training.epoch" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
