import numpy as np
import pytest

from kerasexp.data.splits import stratified_split
from kerasexp.errors import UserError


def test_stratified_disjoint_and_complete(fashion_path):
    from kerasexp.data.fashion_mnist import read_arrays

    y = read_arrays(fashion_path)["y_train"]
    train_idx, val_idx = stratified_split(y, 0.2, seed=0)
    assert len(np.intersect1d(train_idx, val_idx)) == 0
    assert len(train_idx) + len(val_idx) == len(y) and len(val_idx) == 12000
    # Fashion-MNIST has 6,000 images a class: 1,200 of each in validation.
    assert np.bincount(y[val_idx]).tolist() == [1200] * 10


def test_imbalanced_proportions_kept():
    y = np.repeat(np.arange(4), [500, 200, 80, 20])
    train_idx, val_idx = stratified_split(y, 0.25, seed=3)
    assert np.bincount(y[val_idx]).tolist() == [125, 50, 20, 5]


def test_seed_fixes_the_split():
    y = np.repeat(np.arange(3), 50)
    a, b, c = (stratified_split(y, 0.2, seed=s)[1] for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_too_small_to_stratify():
    with pytest.raises(UserError, match="stratified split"):
        stratified_split(np.array([0, 1, 1, 1]), 0.25, seed=0)
