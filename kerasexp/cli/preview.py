"""The grid of `kerasexp augment-preview` (kerasexp.cli.augment_preview): training images beside what the
experiment's augmentation policy makes of them, with their labels (mixed labels show their
two largest shares), so a user sees the policy before training."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pick_images(y: np.ndarray, n: int) -> np.ndarray:
    """`n` indices cycling through the classes (first unused image of each), so every class shows."""
    order = [np.flatnonzero(y == c).tolist() for c in np.unique(y)]
    picked = []
    while len(picked) < min(n, len(y)):
        for indices in order:
            if indices and len(picked) < n:
                picked.append(indices.pop(0))
    return np.array(picked)


def label_text(label: np.ndarray, names: list[str]) -> str:
    top = np.argsort(label)[::-1][:2]
    if label[top[1]] < 1e-3:
        return names[top[0]]
    return " / ".join(f"{names[i]} {label[i]:.2f}" for i in top)


def preview_grid(images, labels, views: list, names: list[str], title: str):
    """Rows: images; columns: the original, then each augmented view."""
    from matplotlib.figure import Figure  # not pyplot: the user's backend stays as it is

    rows, cols = len(images), 1 + len(views)
    fig = Figure(figsize=(1.9 * cols, 2.0 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        panels = [(images[r], labels[r], "original")]
        panels += [(v[r], vl[r], f"augmented {k + 1}") for k, (v, vl) in enumerate(views)]
        for c, (img, lab, head) in enumerate(panels):
            ax = axes[r][c]
            img = np.clip(img, 0, 255).astype(np.uint8)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None)
            ax.set_title((head + "\n" if r == 0 else "") + label_text(lab, names), fontsize=7)
            ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def augment_preview(
    experiment: str, out: str, overrides=(), images: int = 8, views: int = 3, seed: int = 0
) -> Path:
    from kerasexp.augment.compose import apply_to_batch
    from kerasexp.augment.policies import build_policy
    from kerasexp.config import load_experiment
    from kerasexp.data import load_dataset
    from kerasexp.errors import UserError
    from kerasexp.atomic import save_figure

    exp = load_experiment(experiment, list(overrides))
    if build_policy(exp.augmentation, seed=exp.training.seed) is None:  # names and values checked first
        raise UserError(f'{experiment}: augmentation.policy is "none"; nothing to preview')
    data = load_dataset(exp.dataset)
    counts = np.bincount(data.y_train, minlength=data.num_classes)
    policy = build_policy(exp.augmentation, seed=exp.training.seed, class_counts=counts)
    # A batch as training sees it: the previewed images first, then more of the split, so that
    # batch-level policies (mixup, cutmix) mix with realistic partners.
    idx = pick_images(data.y_train, images)
    rest = np.setdiff1d(np.arange(len(data.y_train)), idx)[: max(exp.training.batch_size - len(idx), 0)]
    batch = np.concatenate([idx, rest])
    x = data.x_train[batch].astype(np.float32)
    y = np.eye(data.num_classes, dtype=np.float32)[data.y_train[batch]]
    drawn = []
    for k in range(views):
        ax, ay = apply_to_batch(policy, x, y, seed=seed + k)
        drawn.append((np.asarray(ax)[: len(idx)], np.asarray(ay)[: len(idx)]))
    names = exp.augmentation.policy
    policy_name = names if isinstance(names, str) else " + ".join(names)
    fig = preview_grid(
        x[: len(idx)],
        y[: len(idx)],
        drawn,
        data.class_names,
        f"{exp.name}: {policy_name} {exp.augmentation.params or ''}",
    )
    return save_figure(out, fig)
