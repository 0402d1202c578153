"""Training and held-out splits for distillation from every image the project may use (issue 13).

    /usr/bin/python3 training/make_splits.py --shared ../shared --out /tmp/splits

Holds out every 6th of the 60 training classes (sorted by name, starting with the 3rd: 10 classes) with ALL
their images (train.txt and the extras), for choosing recipes; trains on the other 50 classes' train.txt and
extra images, Caltech's unlabelled BACKGROUND_Google images and all of TrashNet. Paths are absolute, so one
split mixes the three data folders. eval.txt and finetune-*.txt are never read.

Writes distill-train.txt, heldout-10.txt (the held-out classes' train.txt images: the retrieval set) and
classes.json (which classes went where).
"""
from __future__ import annotations

import argparse
import json
import os


def lines(path: str):
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line:
                p, label = line.split('\t')
                yield p, label


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--shared', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    shared = os.path.abspath(args.shared)
    c80 = os.path.join(shared, 'data', 'caltech101-80')
    extra = os.path.join(shared, 'data', 'caltech101-extra')
    trash = os.path.join(shared, 'data', 'trashnet')
    train = list(lines(os.path.join(c80, 'splits', 'train.txt')))
    classes = sorted({label for _, label in train})
    held = set(classes[2::6])
    assert len(classes) == 60 and len(held) == 10, (len(classes), len(held))
    rows = [(os.path.join(c80, p), label) for p, label in train if label not in held]
    rows += [(os.path.join(extra, p), label) for p, label in lines(os.path.join(extra, 'splits', 'extra.txt')) if label not in held]
    rows += [(os.path.join(trash, p), label) for p, label in lines(os.path.join(trash, 'splits', 'all.txt'))]
    heldout = [(os.path.join(c80, p), label) for p, label in train if label in held]
    os.makedirs(args.out, exist_ok=True)
    for name, data in (('distill-train.txt', rows), ('heldout-10.txt', heldout)):
        with open(os.path.join(args.out, name), 'w') as f:
            f.writelines(f'{p}\t{label}\n' for p, label in data)
    with open(os.path.join(args.out, 'classes.json'), 'w') as f:
        json.dump({'heldout': sorted(held), 'train': sorted(set(classes) - held)}, f, indent=1)
    print(f'{len(rows)} training images, {len(heldout)} held-out images of {sorted(held)}')


if __name__ == '__main__':
    main()
