"""Augmentation from experiment files and the command line: policy lists, previews, bad input."""

from pathlib import Path

import pytest

from kerasexp.cli import main
from kerasexp.config import load_experiment, to_toml

STUDIES = Path(__file__).resolve().parents[2] / "studies"


def test_policy_list_round_trips_through_toml(tmp_path):
    exp = load_experiment(
        STUDIES / "pbc96_augment.toml",
        [
            'augmentation.policy=["randaugment","saturation","mixup"]',
            "augmentation.params.mixup.probability=0.4",
        ],
    )
    assert exp.augmentation.policy == ["randaugment", "saturation", "mixup"]
    saved = tmp_path / "again.toml"
    saved.write_text(to_toml(exp))
    assert load_experiment(saved).augmentation == exp.augmentation


def test_augment_preview_writes_a_grid(fashion_path, tmp_path, capsys):
    out = tmp_path / "grid.png"
    code = main(
        [
            "augment-preview",
            str(STUDIES / "fmnist_augment.toml"),
            "--set",
            "dataset.limit=300",
            "--set",
            f'dataset.data_dir="{fashion_path}"',
            "--images",
            "3",
            "--views",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "override, message",
    [
        ("augmentation.policy=warp", "unknown augmentation.policy 'warp'"),
        ("augmentation.params.noise=0.1", "rotate_flip_noise"),
        ('augmentation.params.flip="diagonal"', "flip 'diagonal'"),
    ],
)
def test_bad_policies_are_one_line_errors_before_any_work(override, message, tmp_path, capsys):
    out = tmp_path / "grid.png"
    with pytest.raises(SystemExit) as exit_:
        main(["augment-preview", str(STUDIES / "fmnist_augment.toml"), "--set", override, "--out", str(out)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err and not out.exists()
