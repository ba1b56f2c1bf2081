"""Shared fixtures: real Fashion-MNIST where it is installed, skipped cleanly where not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kerasexp.data import fashion_mnist


def fashion_dir() -> Path | None:
    for directory in fashion_mnist.candidate_dirs(os.environ.get("KERASEXP_DATA")):
        if all(fashion_mnist.find_file(directory, stem) for stem in fashion_mnist.FILES.values()):
            return directory
    return None


requires_fashion = pytest.mark.skipif(
    fashion_dir() is None,
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set KERASEXP_DATA)",
)


def _present(path: Path | None, missing: str) -> Path:
    if path is None:
        pytest.skip(missing)
    return path


@pytest.fixture(scope="session")
def fashion_path() -> Path:
    return _present(fashion_dir(), "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set KERASEXP_DATA)")


@pytest.fixture(scope="session")
def fashion_2000(fashion_path):
    """The first 2,000 real training images, stratified 80/20, plus the official test set."""
    return fashion_mnist.load_fashion_mnist(fashion_path, seed=0, limit=2000)


def _shared_dir(env: str, *parts: str) -> Path | None:
    """$env, else ../shared/<parts> beside the repository; None where it is absent."""
    explicit = os.environ.get(env)
    path = Path(explicit) if explicit else Path(__file__).resolve().parents[1].parent.joinpath("shared", *parts)
    return path if path.is_dir() else None


def pbc96_dir() -> Path | None:
    return _shared_dir("KERASEXP_PBC96", "data", "pbc96")


@pytest.fixture(scope="session")
def pbc96_path() -> Path:
    return _present(pbc96_dir(), "pbc96 blood-cell images not found (../shared/data/pbc96 or $KERASEXP_PBC96)")


@pytest.fixture(scope="session")
def pbc96_small(pbc96_path):
    """A stratified seeded subset of 800 real blood-cell images at 96x96 (all 8 classes)."""
    from kerasexp.data.folders import load_image_folder

    return load_image_folder(pbc96_path, limit=800, seed=0)


def weights_dir() -> Path | None:
    return _shared_dir("KERASEXP_WEIGHTS", "weights")
