"""Secrets never written: every recorded command line, storage URL and printed error goes through
kerasexp.provenance.mask_secrets."""

import pytest

from kerasexp.provenance import command_line, mask_secrets
from kerasexp.tuning.storage import mask_url


@pytest.mark.parametrize(
    "text,masked",
    [
        ("postgresql://kx:PW@db.example:5432/studies", "postgresql://kx:***@db.example:5432/studies"),
        ("postgresql+psycopg://kx:p@ss:w0rd@host/db", "postgresql+psycopg://kx:***@host/db"),  # raw @ and :
        ("--storage=mysql://root:hunter2@10.0.0.1/x", "--storage=mysql://root:***@10.0.0.1/x"),
        (
            "made from `postgresql://a:b@h/d` and 'redis://:tok@h:6379'",
            "made from `postgresql://a:***@h/d` and 'redis://:***@h:6379'",
        ),
        (
            "postgresql://h/db?user=kx&password=PW&sslmode=require",
            "postgresql://h/db?user=kx&password=***&sslmode=require",
        ),
        ("host=h dbname=d PGPASSWORD=PW pwd=PW2", "host=h dbname=d PGPASSWORD=*** pwd=***"),
    ],
)
def test_mask_secrets_hides_passwords_in_every_form(text, masked):
    assert mask_secrets(text) == masked
    assert mask_url(text) == masked  # the storage module masks with the same function


@pytest.mark.parametrize(
    "text",
    [
        "sqlite:////tmp/study.db",
        "postgresql://kx@host/db",
        "postgresql://host:5432/db",
        "python -m kerasexp train exp.toml --set training.epochs=2",
    ],
)
def test_mask_secrets_leaves_text_without_secrets_alone(text):
    assert mask_secrets(text) == text


def test_command_line_masks_both_argv_forms():
    url = "postgresql://kx:PW@h/db"
    argv = ["kerasexp", "study-report", "--storage", url, f"--storage={url}", "--out", "my report"]
    assert command_line(argv).endswith(
        "study-report --storage 'postgresql://kx:***@h/db' "
        "'--storage=postgresql://kx:***@h/db' --out 'my report'"
    )


def test_argparse_and_user_errors_print_no_password(capsys):
    from kerasexp.cli import main

    url = "postgresql://kx:PW@h/db"
    for extra in (["--bogus", url], ["--study-name", "x", "--", url]):
        with pytest.raises(SystemExit) as exit_info:  # argparse quotes the arguments it does not know
            main(["compare", "a", "--out", "r", *extra])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "PW" not in err and "kx:***@h/db" in err, err
