"""Rebuild tests/assets/pbc96_sample from the full pbc96 folder (../shared/data/pbc96):
a seeded sample of 800 images, stratified so each class keeps its share of the full set (the
natural imbalance), files copied byte for byte.

    python tests/assets/make_pbc96_sample.py ../shared/data/pbc96
"""

import shutil
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

SIZE, SEED = 800, 0


def main(source: str) -> None:
    source = Path(source)
    files = sorted(p for p in source.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    labels = [p.parent.name for p in files]
    sample, _ = train_test_split(files, train_size=SIZE, stratify=labels, random_state=SEED)
    target = Path(__file__).resolve().parent / "pbc96_sample"
    shutil.rmtree(target, ignore_errors=True)
    for path in sorted(sample):
        (target / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.parent.name / path.name)
    counts = {d.name: len(list(d.iterdir())) for d in sorted(target.iterdir())}
    print(f"{sum(counts.values())} images -> {target}: {counts}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/pbc96")
