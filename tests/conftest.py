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


@pytest.fixture(scope="session")
def fashion_path() -> Path:
    path = fashion_dir()
    if path is None:
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set KERASEXP_DATA)")
    return path


@pytest.fixture(scope="session")
def fashion_2000(fashion_path):
    """The first 2,000 real training images, stratified 80/20, plus the official test set."""
    return fashion_mnist.load_fashion_mnist(fashion_path, seed=0, limit=2000)
