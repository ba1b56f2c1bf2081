"""Perceptual hashes of images and the duplicate groups they make: what `kerasexp dedup`
reports and what duplicate-aware splits keep on one side."""

from __future__ import annotations

import numpy as np


def phash(images: np.ndarray) -> np.ndarray:
    """64-bit DCT perceptual hash of each RGB (or gray) uint8 image, as uint64."""
    import cv2

    weights = np.uint64(1) << np.arange(64, dtype=np.uint64)
    out = np.empty(len(images), dtype=np.uint64)
    for i, image in enumerate(images):
        gray = image[..., 0] if image.shape[-1] == 1 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
        small = cv2.resize(gray.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA)
        low = cv2.dct(small)[:8, :8].ravel()
        bits = low > np.median(low)
        out[i] = np.sum(weights[bits], dtype=np.uint64)
    return out


def near_pairs(hashes: np.ndarray, max_distance: int, chunk: int = 1024) -> np.ndarray:
    """(i, j, bits) for every pair i < j whose hashes differ in at most `max_distance` bits."""
    found = []
    for start in range(0, len(hashes), chunk):
        block = hashes[start : start + chunk, None] ^ hashes[None, :]
        dist = np.bitwise_count(block)
        i, j = np.nonzero(dist <= max_distance)
        i = i + start
        keep = i < j
        found.append(np.stack([i[keep], j[keep], dist[i[keep] - start, j[keep]]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 3), dtype=np.int64)


def duplicate_group_ids(x: np.ndarray, max_distance: int = 4) -> np.ndarray:
    """One id an image, shared by exact and near duplicates (perceptual hashes within
    `max_distance` bits, as `kerasexp dedup`): a split keeps each group on one side."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = near_pairs(phash(x), max_distance)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(x), len(x)))
    return connected_components(graph, directed=False)[1]
