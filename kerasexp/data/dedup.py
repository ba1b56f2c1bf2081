"""Data cleaning (report 003): exact and near duplicates by perceptual hash, duplicates that
carry different labels, and images far from their class, written as a report and a drop list.

`kerasexp dedup DATA --out DIR` writes DIR/duplicates.csv, outliers.csv, drop.csv and report.md;
an experiment leaves the dropped images out with `[dataset] drop_list = "DIR/drop.csv"`.

pHash (DCT hash): grayscale, 32x32, 2-D DCT, the 8x8 lowest frequencies, one bit a coefficient
above their median: 64 bits that survive re-encoding, small resizes and brightness changes.
Near duplicates are pairs within `max_distance` bits (Hamming); pairs chain into groups.
Outliers: each image's distance to its class median in a PCA space of 16x16 thumbnails, as a
robust z-score (median and MAD of its class); a pasted-in foreign picture scores far above a cell.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp.data.hashing import near_pairs, phash
from kerasexp.errors import UserError
from kerasexp.atomic import write_csv, write_text


@dataclass
class Labelled:
    """Images to clean: uint8 NHWC (one size), int labels, class names, one id an image (what
    drop lists name: the path relative to the data folder, or the array index)."""

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    ids: list[str]
    source: str


def load_labelled(path: str | Path, csv: str = "", size: int = 64) -> Labelled:
    """An image folder, an .npz file, or a folder + CSV of file name and label, at size x size."""
    from kerasexp.data.folders import list_image_folder, read_images

    path = Path(path)
    if csv:
        from kerasexp.data.csv_labels import load_csv_pool

        pool = load_csv_pool(path, csv, size)
        return Labelled(pool.x, pool.y, pool.class_names, pool.ids, pool.source)
    if path.suffix == ".npz":
        import cv2

        from kerasexp.data.arrays import load_npz_pool

        pool = load_npz_pool(path)
        x = pool.x
        if size and x.shape[1:3] != (size, size):
            x = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in x]).reshape(
                len(x), size, size, x.shape[-1]
            )
        return Labelled(x, pool.y, pool.class_names, pool.ids, pool.source)
    files, labels, classes = list_image_folder(path)
    return Labelled(
        read_images(files, size), labels, classes, [f.relative_to(path).as_posix() for f in files], str(path)
    )


def duplicate_groups(data: Labelled, max_distance: int) -> pd.DataFrame:
    """One row an image that has a duplicate: group, id, class, kind (exact = identical pixels,
    near = within max_distance bits), conflict (the group holds more than one label)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(data.y)
    pairs = near_pairs(phash(data.x), max_distance)
    digests = [hashlib.sha1(im.tobytes()).hexdigest() for im in data.x]
    graph = (
        coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        if len(pairs)
        else coo_matrix((n, n))
    )
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    rows = []
    for group_number, comp in enumerate(np.flatnonzero(sizes > 1), start=1):
        members = np.flatnonzero(component == comp)
        labels = set(data.y[members].tolist())
        for m in members:
            exact = sum(digests[k] == digests[m] for k in members) > 1
            rows.append(
                {
                    "group": group_number,
                    "id": data.ids[m],
                    "class": data.class_names[data.y[m]],
                    "kind": "exact" if exact else "near",
                    "conflict": len(labels) > 1,
                }
            )
    return pd.DataFrame(rows, columns=["group", "id", "class", "kind", "conflict"])


def outlier_scores(data: Labelled, components: int = 32) -> np.ndarray:
    """Robust z-score of each image's distance to its class median (PCA of 16x16 thumbnails)."""
    import cv2
    from sklearn.decomposition import PCA

    thumbs = np.stack([cv2.resize(im, (16, 16), interpolation=cv2.INTER_AREA) for im in data.x])
    feats = thumbs.reshape(len(thumbs), -1).astype(np.float32) / 255.0
    feats = PCA(n_components=min(components, *feats.shape), random_state=0).fit_transform(feats)
    scores = np.zeros(len(feats))
    for c in np.unique(data.y):
        members = data.y == c
        dist = np.linalg.norm(feats[members] - np.median(feats[members], axis=0), axis=1)
        mad = np.median(np.abs(dist - np.median(dist))) * 1.4826 or 1e-9
        scores[members] = (dist - np.median(dist)) / mad
    return scores


def drop_list(dups: pd.DataFrame, outliers: pd.DataFrame) -> pd.DataFrame:
    """Per duplicate group: keep the first image and drop the rest; a group with conflicting
    labels is dropped whole (which label is right is unknown). Outliers are dropped too."""
    rows = []
    for _, group in dups.groupby("group", sort=True):
        if group["conflict"].iloc[0]:
            reason = "conflicting labels: " + ", ".join(sorted(set(group["class"])))
            rows += [{"id": i, "reason": reason} for i in group["id"]]
        else:
            first = group["id"].iloc[0]
            rows += [
                {"id": i, "reason": f"{k} duplicate of {first}"}
                for i, k in zip(group["id"][1:], group["kind"][1:])
            ]
    seen = {r["id"] for r in rows}
    rows += [
        {"id": r.id, "reason": f"outlier (z = {r.score:.1f})"}
        for r in outliers.itertuples()
        if r.id not in seen
    ]
    return pd.DataFrame(rows, columns=["id", "reason"])


def clean(data: Labelled, out_dir: str | Path, max_distance: int = 4, outlier_z: float = 8.0) -> dict:
    """Find duplicates and outliers in `data`, write the report and drop list into `out_dir`."""
    from kerasexp.provenance import command_line, timestamp

    if max_distance < 0 or max_distance > 64:
        raise UserError(f"max distance {max_distance} must be between 0 and 64 bits")
    out_dir = Path(out_dir)
    dups = duplicate_groups(data, max_distance)
    scores = outlier_scores(data)
    order = np.argsort(-scores)
    outliers = pd.DataFrame(
        {
            "id": [data.ids[i] for i in order],
            "class": [data.class_names[data.y[i]] for i in order],
            "score": scores[order],
        }
    )
    outliers = outliers[outliers["score"] > outlier_z]
    drops = drop_list(dups, outliers)
    summary = {
        "images": len(data.y),
        "duplicate_groups": int(dups["group"].nunique()) if len(dups) else 0,
        "images_in_duplicate_groups": len(dups),
        "exact": int((dups["kind"] == "exact").sum()),
        "conflicting_groups": int(dups.loc[dups["conflict"], "group"].nunique()) if len(dups) else 0,
        "outliers": len(outliers),
        "dropped": len(drops),
    }
    write_csv(out_dir / "duplicates.csv", dups)
    write_csv(out_dir / "outliers.csv", outliers.round({"score": 2}))
    write_csv(out_dir / "drop.csv", drops)
    lines = [
        f"# Data cleaning: {data.source}",
        "",
        f"Command: `{command_line()}` ({timestamp()}); pHash max distance {max_distance} bits, "
        f"outlier robust z > {outlier_z}.",
        "",
        "| what | count |",
        "|---|---|",
        *[f"| {k.replace('_', ' ')} | {v} |" for k, v in summary.items()],
        "",
        "Files: `duplicates.csv` (group, id, class, exact/near, conflicting labels), `outliers.csv` "
        "(robust z of the distance to the class median), `drop.csv` (apply with "
        f'`[dataset] drop_list = "{out_dir / "drop.csv"}"`).',
        "",
    ]
    if len(dups):
        lines += [
            "Largest conflicting groups:" if summary["conflicting_groups"] else "Some duplicate groups:",
            "",
        ]
        shown = dups[dups["conflict"]] if summary["conflicting_groups"] else dups
        for g, group in list(shown.groupby("group"))[:10]:
            lines.append(
                f"- group {g}: "
                + ", ".join(f"{i} ({c}, {k})" for i, c, k in zip(group["id"], group["class"], group["kind"]))
            )
        lines.append("")
    write_text(out_dir / "report.md", "\n".join(lines))
    return summary
