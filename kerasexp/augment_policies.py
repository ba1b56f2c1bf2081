"""Augmentation policies by name, each a batch function (images, labels) -> (images, labels)
applied to training batches only. Filled in by the augmentation work; "none" for now."""

from __future__ import annotations

from kerasexp.errors import UserError

POLICIES = {"none": lambda seed, **params: None}


def build_policy(cfg, seed: int = 0):
    try:
        factory = POLICIES[cfg.policy]
    except KeyError:
        raise UserError(f"unknown augmentation.policy {cfg.policy!r}; choose one of: {', '.join(POLICIES)}") from None
    return factory(seed=seed, **cfg.params)
