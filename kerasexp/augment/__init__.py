"""Fast, batched data augmentation (keras-cv-compatible RandAugment)."""

from kerasexp.augment.randaugment import (
    OP_NAMES,
    SKIPPED,
    FastRandAugment,
    apply_op,
    rand_augment,
    sample_plan,
)

__all__ = ["OP_NAMES", "SKIPPED", "FastRandAugment", "apply_op", "rand_augment", "sample_plan"]
