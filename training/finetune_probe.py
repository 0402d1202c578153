"""Probe for issue 6: how far can fine-tuning the neck (backbone frozen) lift leave-one-out recall@1 on
finetune-test.txt? Replays the browser's recipe on cached backbone features in PyTorch, many times faster, so
recipes can be compared over several seeds. Choices are read from the validation share of finetune-train
(20 % a label, as the page); the test split is reported for the record. Also prints a linear-neck reference:
LDA fitted on the training images (and, as a ceiling only, on the test images themselves).

    /usr/bin/python3 training/finetune_probe.py --data ../shared/data/caltech101-80 --model models/default \
        --out training/runs/finetune-probe [--seeds 3]

The "before" row reproduces `npm run finetune-eval` (0.850 / 0.555 on the test split): same model, same
preprocessing (direct 224 x 224 resize), same metric. Augmented views here: crop 70-100 % + flip, 4 a
training image, computed once.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import direct_resize, load_rgb, read_split, student_input  # noqa: E402
from distill import retrieval_metrics  # noqa: E402
from manifest_weights import read_manifest_weights  # noqa: E402
from student import Student  # noqa: E402

VARIANTS = {
    'browser default (Adam 1e-3, s 30, m 0.2)': {},
    '+ 4 cached augmented views': {'views': 4},
    '+ batch-hard triplet (cosine, margin 0.5)': {'triplet': 1.0},
    '+ views + triplet': {'views': 4, 'triplet': 1.0},
    's 16': {'s': 16.0},
    's 16 + triplet': {'s': 16.0, 'triplet': 1.0},
    'label smoothing 0.1': {'ls': 0.1},
    'L2 to the starting neck 1e-3': {'l2sp': 1e-3},
}


def features(student, root, split, views, rng):
    paths, labels = read_split(root, os.path.join(root, 'splits', split))
    out = []
    with torch.no_grad():
        for i in range(0, len(paths), 32):
            batch = []
            for p in paths[i:i + 32]:
                base = direct_resize(load_rgb(p), 224)
                batch.append(base)
                for _ in range(views):
                    side = 0.7 + 0.3 * rng.random()
                    y0, x0 = (int(round((1 - side) * rng.random() * 224)) for _ in range(2))
                    size = int(round(side * 224))
                    crop = base.float().unsqueeze(0)[:, :, y0:y0 + size, x0:x0 + size]
                    crop = F.interpolate(crop, size=(224, 224), mode='bilinear', align_corners=False)
                    if rng.random() < 0.5:
                        crop = crop.flip(3)
                    batch.append(crop[0].round().clamp(0, 255).to(torch.uint8))
            out.append(student.forward_features(student_input(torch.stack(batch))))
    return torch.cat(out).view(len(paths), views + 1, -1), labels


def run(cfg, seed, f_train, y, f_test, y_test, w0, b0, classes):
    rng = np.random.default_rng(seed)
    val = []
    for c in range(classes):
        idx = np.where(y == c)[0]
        rng.shuffle(idx)
        val += list(idx[:max(1, round(0.2 * len(idx)))])
    val = np.array(sorted(val))
    train = np.array(sorted(set(range(len(y))) - set(val)))
    w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
    torch.manual_seed(seed)
    head = torch.empty(w0.shape[1], classes)
    torch.nn.init.xavier_normal_(head)
    head.requires_grad_()
    s, m = cfg.get('s', 30.0), 0.2
    opt = torch.optim.Adam([w, b, head], lr=1e-3)
    epochs, batch = 40, 32
    steps = math.ceil(len(train) / batch)
    total, warm = steps * epochs, 2 * steps
    views = cfg.get('views', 0)
    best, step = None, 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train))
        for i in range(0, len(train), batch):
            idx = train[order[i:i + batch]]
            v = rng.integers(0, views + 1, len(idx)) if views else np.zeros(len(idx), int)
            x, yb = f_train[idx, v], torch.from_numpy(y[idx])
            lr = 1e-3 * (step + 1) / warm if step < warm else 1e-3 * 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
            for g in opt.param_groups:
                g['lr'] = lr
            step += 1
            e = x @ w + b
            cos = F.normalize(e, dim=1) @ F.normalize(head, dim=0)
            sin = (1 - cos ** 2).clamp(min=0).sqrt()
            phi = torch.where(cos > math.cos(math.pi - m), cos * math.cos(m) - sin * math.sin(m), cos - math.sin(math.pi - m) * m)
            onehot = F.one_hot(yb, classes).float()
            loss = F.cross_entropy(s * (onehot * phi + (1 - onehot) * cos), yb, label_smoothing=cfg.get('ls', 0.0))
            loss = loss + 1e-5 * 0.5 * (w.pow(2).sum() + b.pow(2).sum() + head.pow(2).sum())
            if cfg.get('l2sp'):
                loss = loss + cfg['l2sp'] * (w - w0).pow(2).sum()
            if cfg.get('triplet'):
                en = F.normalize(e, dim=1)
                d = 1 - en @ en.T
                same = yb[:, None] == yb[None, :]
                pos = (d * (same & ~torch.eye(len(yb), dtype=torch.bool))).max(1).values
                neg = d.masked_fill(same, 9).min(1).values
                loss = loss + cfg['triplet'] * F.relu(pos - neg + 0.5).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            vm = retrieval_metrics(f_train[val, 0] @ w + b, y[val])
            if best is None or vm['mAP'] > best[0]['mAP']:
                best = (vm, retrieval_metrics(f_test @ w + b, y_test))
    return best


def lda_recall(fit_x, fit_y, test_x, test_y, classes, reg=1.0):
    x = fit_x.double()
    mu = x.mean(0)
    sw = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    sb = torch.zeros_like(sw)
    for c in range(classes):
        xc = x[torch.from_numpy(fit_y == c)]
        mc = xc.mean(0)
        sw += (xc - mc).T @ (xc - mc)
        sb += len(xc) * torch.outer(mc - mu, mc - mu)
    a = torch.linalg.solve(sw + reg * torch.eye(x.shape[1], dtype=torch.float64) * sw.trace() / x.shape[1], sb)
    ev, vec = torch.linalg.eig(a)
    vec = vec.real[:, ev.real.argsort(descending=True)[:classes - 1]]
    return retrieval_metrics((test_x.double() - mu) @ vec, test_y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--model', default='models/default')
    ap.add_argument('--out', required=True)
    ap.add_argument('--seeds', type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    cache = os.path.join(args.out, 'features.pt')
    weights = read_manifest_weights(args.model)
    if not os.path.exists(cache):
        student = Student(1.0, weights['neck.fc.bias'].shape[0])
        student.load_canonical(weights)
        student.eval()
        rng = np.random.default_rng(0)
        torch.save({'train': features(student, args.data, 'finetune-train.txt', 4, rng), 'test': features(student, args.data, 'finetune-test.txt', 0, rng)}, cache)
    saved = torch.load(cache)
    (f_train, l_train), (f_test, l_test) = saved['train'], saved['test']
    names = {n: i for i, n in enumerate(sorted(set(l_train)))}
    y, y_test = np.array([names[l] for l in l_train]), np.array([names[l] for l in l_test])
    f_test = f_test[:, 0]
    w0, b0 = torch.from_numpy(weights['neck.fc.weight']), torch.from_numpy(weights['neck.fc.bias'])
    classes = len(names)
    before = retrieval_metrics(f_test @ w0 + b0, y_test)
    print(f'before (test): recall@1 {before["recall@1"]:.3f}, mAP {before["mAP"]:.3f}')
    print('| recipe | val recall@1 | val mAP | test recall@1 | test mAP |\n|---|---|---|---|---|')
    for name, cfg in VARIANTS.items():
        rows = [run(cfg, seed, f_train, y, f_test, y_test, w0, b0, classes) for seed in range(args.seeds)]
        mean = lambda k, i: np.mean([r[i][k] for r in rows])  # noqa: E731
        print(f'| {name} | {mean("recall@1", 0):.3f} | {mean("mAP", 0):.3f} | {mean("recall@1", 1):.3f} (best {max(r[1]["recall@1"] for r in rows):.3f}) | {mean("mAP", 1):.3f} |')
    print(f'LDA on finetune-train (19 dims): {lda_recall(f_train[:, 0], y, f_test, y_test, classes)}')
    print(f'LDA on finetune-train + views: {lda_recall(f_train.reshape(-1, f_train.shape[2]), np.repeat(y, f_train.shape[1]), f_test, y_test, classes)}')
    print(f'ceiling only, LDA fitted on the test images themselves: {lda_recall(f_test, y_test, f_test, y_test, classes)}')


if __name__ == '__main__':
    main()
