"""Probe: would a closed-form neck (centring, PCA to D, whitening) fitted on training features retrieve better
than the distilled neck? Model selection uses training classes only: the neck is fitted on all but
--holdout-classes of the training split and measured on those held-out classes. The eval split, if given,
is reported once per variant for the record, never used to choose.

    /usr/bin/python3 training/neck_probe.py --checkpoint training/runs/<run>/checkpoint.pt \
        --data ../shared/data/caltech101-80 --split ../shared/data/caltech101-80/splits/train.txt \
        [--eval-split ../shared/data/caltech101-80/splits/eval.txt]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import label_ids, read_split, student_input  # noqa: E402
from distill import load_images, retrieval_metrics  # noqa: E402
from neck_fit import whitening_neck  # noqa: E402
from student import Student  # noqa: E402


@torch.no_grad()
def features(student: Student, images: torch.Tensor):
    student.eval()
    fs, es = [], []
    for i in range(0, len(images), 64):
        f, e = student(student_input(images[i:i + 64]))
        fs.append(f)
        es.append(e)
    return torch.cat(fs), torch.cat(es)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--split', required=True)
    ap.add_argument('--eval-split')
    ap.add_argument('--holdout-classes', type=int, default=10)
    ap.add_argument('--holdout-split', help='measure on this split (held-out training classes) and fit on all of '
                                            '--split, instead of holding out the last --holdout-classes of --split')
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--dim', type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(2)
    student = Student(args.scale, args.dim)
    student.load_state_dict(torch.load(args.checkpoint, map_location='cpu')['student'])
    _, labels = read_split(args.data, args.split)
    y = label_ids(labels)
    f_train, e_train = features(student, load_images(args.data, args.split, 224, 1))
    classes = np.unique(y)
    if args.holdout_split:
        held = np.zeros(len(y), dtype=bool)
        _, h_labels = read_split(args.data, args.holdout_split)
        f_h, e_h = features(student, load_images(args.data, args.holdout_split, 224, 1))
        sets = {'holdout': (f_h, e_h, label_ids(h_labels))}
    else:
        held = np.isin(y, classes[-args.holdout_classes:])
        sets = {'holdout': (f_train[held], e_train[held], y[held])}
    if args.eval_split:
        _, ev_labels = read_split(args.data, args.eval_split)
        f_ev, e_ev = features(student, load_images(args.data, args.eval_split, 224, 1))
        sets['eval'] = (f_ev, e_ev, label_ids(ev_labels))
    fit = f_train[~held]
    fit_all = f_train
    rows = {}
    for name, (f, e, lab) in sets.items():
        src = fit if name == 'holdout' else fit_all
        r = {'distilled neck': retrieval_metrics(e, lab), 'raw 1280': retrieval_metrics(f, lab),
             'centred 1280': retrieval_metrics(f - src.mean(0), lab)}
        for power in (0.0, 0.25, 0.5):
            w, b = whitening_neck(src, args.dim, power)
            r[f'pca{args.dim} power {power}'] = retrieval_metrics(f @ w.T + b, lab)
        rows[name] = r
    print(json.dumps(rows, indent=1))


if __name__ == '__main__':
    main()
