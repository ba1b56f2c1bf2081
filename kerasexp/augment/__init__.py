"""Augmentation: the policy registry (policies.py), per-batch seeding (compose.py), image
policies (OpenCV, flips, cutout), mixing (mixup, cutmix) and a Numba RandAugment."""
