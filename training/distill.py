"""Feature distillation: PP-LCNet + linear neck (student) learns from ImageNet MobileNetV2 (teacher).

    /usr/bin/python3 training/distill.py --teacher ../shared/models/teacher-mobilenetv2-035 \
        --data ../shared/data/caltech101-80 --split ../shared/data/caltech101-80/splits/train.txt \
        --out /tmp/distill --minutes 60 [--eval-split ../shared/data/caltech101-80/splits/eval.txt]

Loss on each augmented view (the same crop for both networks, see data.py):
- feature: 1 - cos(student backbone feature, teacher GAP feature), both 1280-d;
- similarity: MSE between the batch's cosine-similarity matrices of the student's embedding (neck output)
  and of the teacher's features (off-diagonal entries), so the D-d embedding keeps the teacher's
  neighbourhoods. The neck is trained only by this term; through it the backbone gets it too.
AdamW (no weight decay on BatchNorm parameters and biases), linear warm-up then cosine decay to zero over
the time budget (progress = training seconds / budget; or over --steps for a run that is reproducible step
for step). Evaluation and checkpoint pauses are not counted as training time.

At the end: optional BatchNorm re-estimation at the deployment resolution (224, direct resize) on the
TRAINING images, kept only if it raises the student's agreement with the teacher on those training images;
then export <out>/student.json + <out>/student.bin (canonical PaddleClas names, Paddle layouts,
little-endian float32 back to back, in student.json's order). `--eval-split` only measures (leave-one-out
recall@1 / mAP at 224); nothing is chosen from it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ inside the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import (DistillDataset, PlainDataset, label_ids, read_split, student_input,  # noqa: E402
                  teacher_input, worker_init)
from neck_fit import whitening_neck  # noqa: E402
from student import Student  # noqa: E402
from teacher import Teacher  # noqa: E402
from teacher_tflite import TFLiteTeacher  # noqa: E402

FORBIDDEN_SPLITS = ('eval.txt', 'finetune-train.txt', 'finetune-test.txt')
DEPLOY_SIZE = 224


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--teacher', help='TF.js layers folder (model.json + weights.bin): MobileNetV2 0.35')
    ap.add_argument('--teacher-tflite', help='a .tflite teacher run by the tflite_teacher.py beside it (MobileNetV2 1.0)')
    ap.add_argument('--teacher-cache', help='folder for the teacher features of --cache-views augmented views of every '
                                            'training image, computed once (resumable, one file a view); training then '
                                            'cycles through those views and never runs the teacher')
    ap.add_argument('--cache-views', type=int, default=4, help='augmented views cached per image (with --teacher-cache)')
    ap.add_argument('--data', required=True, help='dataset root; split paths are relative to it')
    ap.add_argument('--split', required=True, help='training split file (path<TAB>label lines)')
    ap.add_argument('--out', required=True, help='output folder (train.log, checkpoint.pt, student.json/.bin)')
    ap.add_argument('--scale', type=float, default=1.0, help='PP-LCNet scale')
    ap.add_argument('--dim', type=int, default=512, help='embedding size (neck output)')
    ap.add_argument('--minutes', type=float, default=60.0, help='training-time budget (schedule length)')
    ap.add_argument('--steps', type=int, default=0, help='schedule by steps instead of time (reproducible)')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--weight-decay', type=float, default=0.01, help='AdamW decoupled decay (conv/linear weights)')
    ap.add_argument('--warmup', type=float, default=0.03, help='warm-up fraction of the schedule')
    ap.add_argument('--sim-weight', type=float, default=1.0, help='weight of the similarity-matrix term')
    ap.add_argument('--spatial-weight', type=float, default=0.0,
                    help='weight of the per-position term (student last_conv map vs the teacher map, pooled to '
                         "the student's grid); 0 = off")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--image-size', type=int, default=160, help="student's training resolution")
    ap.add_argument('--teacher-size', type=int, default=224, help="teacher's resolution for the same crop")
    ap.add_argument('--crop-scale', type=float, default=0.25, help='RandomResizedCrop minimum area fraction')
    ap.add_argument('--jitter', type=float, default=0.2, help='colour jitter strength (0 = off)')
    ap.add_argument('--mixup', type=float, default=0.0,
                    help='probability that a batch is mixed with a shuffled copy of itself (function matching)')
    ap.add_argument('--workers', type=int, default=1, help='DataLoader worker processes (0 = in-process)')
    ap.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    ap.add_argument('--log-seconds', type=float, default=30.0)
    ap.add_argument('--checkpoint-minutes', type=float, default=5.0)
    ap.add_argument('--eval-split', help='split to MEASURE retrieval on (never trained or tuned on)')
    ap.add_argument('--eval-minutes', type=float, default=0.0, help='also measure every N training minutes')
    ap.add_argument('--bn-recalibrate', type=int, default=1024,
                    help='training images for the 224 BatchNorm re-estimation at the end (0 = off)')
    ap.add_argument('--resume', help='checkpoint.pt to continue from')
    ap.add_argument('--whiten-neck', type=float, default=None, metavar='POWER',
                    help='after training, replace the neck by a PCA neck fitted on the training images\' backbone '
                         'features, axes scaled by eigenvalue^-POWER (training/neck_fit.py; chosen with '
                         'training/neck_probe.py on held-out training classes)')
    ap.add_argument('--init-from', help='start the student from a weight manifest folder (e.g. models/default) '
                                        'or a checkpoint.pt; '
                    'a fresh optimizer and schedule, unlike --resume')
    return ap.parse_args(argv)


class Logger:
    def __init__(self, path: str):
        self.f = open(path, 'a')

    def __call__(self, msg: str) -> None:
        line = f'[{time.strftime("%H:%M:%S")}] {msg}'
        print(line, flush=True)
        self.f.write(line + '\n')
        self.f.flush()


class InfiniteBatches:
    """Epoch after epoch of a seeded permutation (drop_last), starting at a given step. Yields indices
    epoch * n + i so the dataset (in any worker) knows the epoch without shared state."""

    def __init__(self, n: int, batch: int, seed: int, start_step: int):
        self.n, self.batch, self.seed, self.start = n, batch, seed, start_step
        self.per_epoch = n // batch

    def __iter__(self):
        step = self.start
        while True:
            epoch, pos = divmod(step, self.per_epoch)
            g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
            perm = torch.randperm(self.n, generator=g)
            for p in range(pos, self.per_epoch):
                yield [epoch * self.n + int(i) for i in perm[p * self.batch:(p + 1) * self.batch]]
            step = (epoch + 1) * self.per_epoch


class EpochIndexed(torch.utils.data.Dataset):
    """Item k = view `epoch` of image `index`; with `views`, epochs cycle through that many (cached) views. Also
    returns (view, index), where the cached teacher feature is."""

    def __init__(self, ds: DistillDataset, views: int = 0):
        self.ds, self.views = ds, views

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, k: int):
        epoch, index = divmod(k, len(self.ds))
        self.ds.epoch = epoch % self.views if self.views else epoch
        xs, xt = self.ds[index]
        return xs, xt, torch.tensor([self.ds.epoch, index])


def cache_teacher(args, ds: DistillDataset, teacher, log) -> np.ndarray:
    """[views, images, 1280] float16 teacher features of views 0..V-1 (the dataset's epochs), one file a view."""
    os.makedirs(args.teacher_cache, exist_ok=True)
    out = []
    for v in range(args.cache_views):
        path = os.path.join(args.teacher_cache, f'view-{v}-of-{len(ds)}-seed{args.seed}-{teacher_sha256(args)[:12]}.npy')
        if not os.path.exists(path):
            t0 = time.time()
            view = torch.utils.data.Subset(EpochIndexed(ds), range(v * len(ds), (v + 1) * len(ds)))
            loader = torch.utils.data.DataLoader(view, batch_size=64, num_workers=args.workers, worker_init_fn=worker_init)
            feats = []
            for xs, xt, _ in loader:
                feats.append(teacher.features(teacher_input(xt) if xt.numel() else teacher_input(xs)).half().numpy())
            np.save(path + '.tmp.npy', np.concatenate(feats))
            os.replace(path + '.tmp.npy', path)
            log(f'teacher features of view {v}: {len(ds)} images in {time.time() - t0:.0f}s -> {path}')
        out.append(np.load(path))
    return np.stack(out)


def lr_at(progress: float, args: argparse.Namespace) -> float:
    if progress < args.warmup:
        return args.lr * max(progress / args.warmup, 1e-3)
    p = min(1.0, (progress - args.warmup) / max(1e-9, 1.0 - args.warmup))
    return args.lr * 0.5 * (1.0 + math.cos(math.pi * p))


def spatial_loss(s_map: torch.Tensor, t_map: torch.Tensor) -> torch.Tensor:
    """1 - cosine at every position of the student's grid; the teacher's map is average-pooled onto it."""
    t = F.adaptive_avg_pool2d(t_map, s_map.shape[-2:])
    return (1.0 - F.cosine_similarity(s_map, t, dim=1, eps=1e-8)).mean()


def distill_losses(s_feat: torch.Tensor, s_emb: torch.Tensor, t_feat: torch.Tensor) -> Dict[str, torch.Tensor]:
    feat = (1.0 - F.cosine_similarity(s_feat, t_feat, dim=1, eps=1e-8)).mean()
    e = F.normalize(s_emb, dim=1)
    t = F.normalize(t_feat, dim=1)
    off = ~torch.eye(e.shape[0], dtype=torch.bool)
    sim = ((e @ e.T - t @ t.T)[off] ** 2).mean()
    return {'feat': feat, 'sim': sim}


@torch.no_grad()
def embed_all(fn, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    return torch.cat([fn(images[i:i + batch]) for i in range(0, len(images), batch)])


def retrieval_metrics(x: torch.Tensor, labels: np.ndarray) -> Dict[str, float]:
    """Leave-one-out over one set: every image queries all the others (cosine). recall@1 and mAP."""
    x = F.normalize(x.double(), dim=1)
    n = x.shape[0]
    sim = x @ x.T
    sim.fill_diagonal_(-math.inf)
    order = torch.argsort(sim, dim=1, descending=True)[:, : n - 1]
    lab = torch.from_numpy(labels)
    rel = (lab[order] == lab[:, None]).double()
    prec = rel.cumsum(1) / torch.arange(1, n, dtype=torch.float64)
    ap = (prec * rel).sum(1) / rel.sum(1).clamp(min=1)
    return {'recall@1': float(rel[:, 0].mean()), 'mAP': float(ap[rel.sum(1) > 0].mean())}


def load_images(root: str, split: str, size: int, workers: int) -> torch.Tensor:
    ds = PlainDataset(root, split, size)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=workers, worker_init_fn=worker_init)
    return torch.cat(list(loader))


def data_credit(paths: List[str]) -> str:
    credit = 'Caltech-101 (Fei-Fei, Fergus, Perona), CC BY 4.0'
    if any(f'{os.sep}trashnet{os.sep}' in p for p in paths):
        credit += '; TrashNet (Gary Thung, Mindy Yang), MIT'
    return credit


def teacher_sha256(args) -> str:
    return file_sha256(args.teacher_tflite) if args.teacher_tflite else file_sha256(os.path.join(args.teacher, 'weights.bin'))


def load_teacher(args):
    if bool(args.teacher) == bool(args.teacher_tflite):
        raise SystemExit('give one teacher: --teacher (TF.js layers folder) or --teacher-tflite (.tflite file)')
    if args.teacher_tflite:
        return TFLiteTeacher(args.teacher_tflite)
    return Teacher(args.teacher).to(memory_format=torch.channels_last)


def file_sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def teacher_eval(args, teacher: Teacher, images: torch.Tensor, labels: np.ndarray, log: Logger) -> Dict:
    """The teacher's own retrieval numbers on the eval split, computed once and cached in <out>."""
    key = {'split': os.path.abspath(args.eval_split), 'split_sha256': file_sha256(args.eval_split),
           'teacher_sha256': teacher_sha256(args), 'size': DEPLOY_SIZE}
    cache = os.path.join(args.out, 'teacher-eval.json')
    if os.path.exists(cache):
        with open(cache) as f:
            cached = json.load(f)
        if cached.get('key') == key:
            return cached['metrics']
    t0 = time.time()
    metrics = retrieval_metrics(embed_all(lambda b: teacher.features(teacher_input(b)), images), labels)
    with open(cache, 'w') as f:
        json.dump({'key': key, 'metrics': metrics}, f, indent=1)
    log(f'teacher on {os.path.basename(args.eval_split)} @224: recall@1 {metrics["recall@1"]:.4f} '
        f'mAP {metrics["mAP"]:.4f} ({time.time() - t0:.0f}s, cached in {cache})')
    return metrics


def student_eval(student: Student, images: torch.Tensor, labels: np.ndarray) -> Dict[str, float]:
    was_training = student.training
    student.eval()
    with torch.no_grad():
        feats, embs = [], []
        for i in range(0, len(images), 64):
            f, e = student(student_input(images[i:i + 64]))
            feats.append(f)
            embs.append(e)
    student.train(was_training)
    emb = retrieval_metrics(torch.cat(embs), labels)
    feat = retrieval_metrics(torch.cat(feats), labels)
    return {'recall@1': emb['recall@1'], 'mAP': emb['mAP'],
            'feature_recall@1': feat['recall@1'], 'feature_mAP': feat['mAP']}


@torch.no_grad()
def teacher_agreement(student: Student, teacher_feats: torch.Tensor, images: torch.Tensor) -> float:
    """Mean cos(student feature, teacher feature) at the deployment resolution, student in eval mode."""
    student.eval()
    s = embed_all(lambda b: student.forward_features(student_input(b)), images)
    return float(F.cosine_similarity(s, teacher_feats, dim=1).mean())


@torch.no_grad()
def recalibrate_bn(student: Student, images: torch.Tensor) -> None:
    """Re-estimates every BatchNorm's running statistics (cumulative average) on these images."""
    bns = [m for m in student.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    student.train()
    for i in range(0, len(images), 64):
        student.forward_features(student_input(images[i:i + 64]))
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    student.eval()


def save_checkpoint(path: str, student, opt, state: Dict) -> None:
    tmp = path + '.tmp'
    torch.save({'student': student.state_dict(), 'optimizer': opt.state_dict(), **state}, tmp)
    os.replace(tmp, path)


def export(out: str, student: Student, meta: Dict) -> None:
    tensors = student.state_dict_canonical()
    entries, offset = [], 0
    with open(os.path.join(out, 'student.bin'), 'wb') as f:
        for name, arr in tensors.items():
            data = arr.astype('<f4', copy=False).tobytes()
            entries.append({'name': name, 'shape': list(arr.shape), 'offset': offset, 'bytes': len(data)})
            f.write(data)
            offset += len(data)
    meta = {**meta, 'dtype': 'float32', 'byteOrder': 'little', 'byteLength': offset,
            'sha256': file_sha256(os.path.join(out, 'student.bin')), 'tensors': entries}
    with open(os.path.join(out, 'student.json'), 'w') as f:
        json.dump(meta, f, indent=1)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    log = Logger(os.path.join(args.out, 'train.log'))

    if os.path.basename(args.split) in FORBIDDEN_SPLITS:
        raise SystemExit(f'refusing to train on {args.split}: eval and finetune splits are for measuring only')
    ds = DistillDataset(args.data, args.split, args.image_size, args.teacher_size,
                        scale=(args.crop_scale, 1.0), jitter=args.jitter, seed=args.seed)
    if args.eval_split:
        overlap = set(ds.paths) & set(read_split(args.data, args.eval_split)[0])
        if overlap:
            raise SystemExit(f'the training split shares {len(overlap)} images with {args.eval_split}')
    log(f'args: {json.dumps(vars(args))}')
    log(f'torch {torch.__version__}, {torch.get_num_threads()} threads; {len(ds)} training images, '
        f'{len(set(ds.labels))} classes')

    teacher = load_teacher(args)
    student = Student(args.scale, args.dim).to(memory_format=torch.channels_last)
    decay = [p for n, p in student.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in student.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr, betas=(0.9, 0.999))
    step, elapsed, images_seen = 0, 0.0, 0
    ckpt_path = os.path.join(args.out, 'checkpoint.pt')
    if args.init_from and not args.resume:
        if args.init_from.endswith('.pt'):
            student.load_state_dict(torch.load(args.init_from, map_location='cpu')['student'])
        else:
            from manifest_weights import read_manifest_weights
            student.load_canonical(read_manifest_weights(args.init_from))
        log(f'initialised the student from {args.init_from}')
    if args.resume:
        ck = torch.load(args.resume, map_location='cpu')
        student.load_state_dict(ck['student'])
        opt.load_state_dict(ck['optimizer'])
        step, elapsed, images_seen = ck['step'], ck['elapsed'], ck['images_seen']
        log(f'resumed {args.resume}: step {step}, {elapsed / 60:.1f} training minutes, {images_seen} images')

    eval_images = eval_labels = None
    results: Dict = {}
    if args.eval_split:
        t0 = time.time()
        eval_images = load_images(args.data, args.eval_split, DEPLOY_SIZE, args.workers)
        eval_labels = label_ids(read_split(args.data, args.eval_split)[1])
        log(f'eval split: {len(eval_images)} images decoded at {DEPLOY_SIZE} ({time.time() - t0:.0f}s)')
        results['teacher'] = teacher_eval(args, teacher, eval_images, eval_labels, log)
        log(f'teacher: {results["teacher"]}')

    cache = None
    if args.teacher_cache:
        if args.mixup > 0 or args.spatial_weight > 0:
            raise SystemExit('--teacher-cache holds pooled features only: no --mixup, no --spatial-weight')
        cache = torch.from_numpy(cache_teacher(args, ds, teacher, log))
    loader = torch.utils.data.DataLoader(
        EpochIndexed(ds, args.cache_views if cache is not None else 0), batch_sampler=InfiniteBatches(len(ds), args.batch, args.seed, step),
        num_workers=args.workers, worker_init_fn=worker_init,
        prefetch_factor=4 if args.workers > 0 else 2)
    stop = {'flag': False}

    def on_signal(signum, _frame):
        stop['flag'] = True
        log(f'signal {signum}: stopping after this step, then checkpoint and export')

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    budget = args.minutes * 60.0
    progress = (step / args.steps) if args.steps else (elapsed / budget)
    window = {'n': 0, 'feat': 0.0, 'sim': 0.0, 'spatial': 0.0, 'images': 0, 'wait': 0.0, 'pause': 0.0,
              't': time.time()}
    last: Dict = {'feat': None, 'sim': None, 'spatial': None}  # None, not NaN: student.json must stay valid JSON
    next_ckpt = elapsed + args.checkpoint_minutes * 60
    next_eval = elapsed + args.eval_minutes * 60 if args.eval_minutes > 0 else math.inf
    mix_rng = torch.Generator().manual_seed(args.seed * 7919 + step)
    student.train()
    it = iter(loader)
    t_mark = time.time()
    while progress < 1.0 and not stop['flag']:
        t_wait = time.time()
        xs, xt, ids = next(it)
        window['wait'] += time.time() - t_wait
        lr = lr_at(progress, args)
        for g in opt.param_groups:
            g['lr'] = lr
        s_in = student_input(xs)
        t_in = teacher_input(xt) if xt.numel() else teacher_input(xs)
        if args.mixup > 0 and float(torch.rand(1, generator=mix_rng)) < args.mixup:
            # Mixup applied identically to both views: widens the inputs on which the functions must agree.
            lam = torch.rand(xs.shape[0], 1, 1, 1, generator=mix_rng)
            perm = torch.randperm(xs.shape[0], generator=mix_rng)
            s_in = lam * s_in + (1 - lam) * s_in[perm]
            t_in = lam * t_in + (1 - lam) * t_in[perm]
        if args.spatial_weight > 0:
            with torch.no_grad():
                t_map = teacher.feature_map(t_in)
            t_feat = t_map.mean(dim=(2, 3))
            s_map = student.backbone.trunk(s_in)
            s_feat = student.backbone.head(s_map)
            s_emb = student.forward_neck(s_feat)
            losses = distill_losses(s_feat, s_emb, t_feat)
            losses['spatial'] = spatial_loss(student.backbone.spatial_features(s_map), t_map)
        else:
            t_feat = cache[ids[:, 0], ids[:, 1]].float() if cache is not None else teacher.features(t_in)
            s_feat, s_emb = student(s_in)
            losses = distill_losses(s_feat, s_emb, t_feat)
            losses['spatial'] = torch.zeros(())
        loss = losses['feat'] + args.sim_weight * losses['sim'] + args.spatial_weight * losses['spatial']
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        images_seen += xs.shape[0]
        now = time.time()
        elapsed += now - t_mark
        t_mark = now
        progress = (step / args.steps) if args.steps else (elapsed / budget)
        window['n'] += 1
        window['images'] += xs.shape[0]
        window['feat'] += float(losses['feat'])
        window['sim'] += float(losses['sim'])
        window['spatial'] += float(losses['spatial'])
        if now - window['t'] >= args.log_seconds or progress >= 1.0:
            dt = now - window['t'] - window['pause']
            last = {k: window[k] / window['n'] for k in ('feat', 'sim', 'spatial')}
            log(f'step {step} epoch {step / (len(ds) // args.batch):.2f} train {elapsed / 60:.2f} min | '
                f'{window["images"] / dt:.1f} img/s (data wait {100 * window["wait"] / dt:.0f}%) | '
                f'feat {last["feat"]:.4f} sim {last["sim"]:.5f} spatial {last["spatial"]:.4f} | lr {lr:.2e}')
            window = {'n': 0, 'feat': 0.0, 'sim': 0.0, 'spatial': 0.0, 'images': 0, 'wait': 0.0, 'pause': 0.0,
                      't': now}
        if elapsed >= next_ckpt or elapsed >= next_eval:
            if elapsed >= next_ckpt:
                save_checkpoint(ckpt_path, student, opt, {'step': step, 'elapsed': elapsed,
                                                          'images_seen': images_seen, 'args': vars(args)})
                log(f'checkpoint {ckpt_path} (step {step})')
                next_ckpt = elapsed + args.checkpoint_minutes * 60
            if elapsed >= next_eval and eval_images is not None:
                m = student_eval(student, eval_images, eval_labels)
                log(f'eval @ {elapsed / 60:.1f} min: {json.dumps({k: round(v, 4) for k, v in m.items()})}')
                next_eval = elapsed + args.eval_minutes * 60
            window['pause'] += time.time() - t_mark  # pauses are neither training time nor throughput
            t_mark = time.time()
    del it, loader
    save_checkpoint(ckpt_path, student, opt, {'step': step, 'elapsed': elapsed, 'images_seen': images_seen,
                                              'args': vars(args)})
    log(f'training done: step {step}, {elapsed / 60:.2f} training minutes, {images_seen} images seen; '
        f'checkpoint {ckpt_path}')

    bn_info: Dict = {'images': 0, 'kept': False}
    if args.bn_recalibrate > 0:
        t0 = time.time()
        g = torch.Generator().manual_seed(args.seed)
        pick = torch.randperm(len(ds), generator=g)[: args.bn_recalibrate]
        plain = PlainDataset(args.data, args.split, DEPLOY_SIZE)
        train_images = torch.stack([plain[int(i)] for i in pick])
        half = len(train_images) // 2  # estimate on one half, judge on the other
        t_feats = embed_all(lambda b: teacher.features(teacher_input(b)), train_images[half:])
        before = teacher_agreement(student, t_feats, train_images[half:])
        saved = {k: v.clone() for k, v in student.state_dict().items()}
        recalibrate_bn(student, train_images[:half])
        after = teacher_agreement(student, t_feats, train_images[half:])
        kept = after > before
        if not kept:
            student.load_state_dict(saved)
        bn_info = {'images': half, 'judged_on': len(train_images) - half, 'agreement_before': before,
                   'agreement_after': after, 'kept': kept}
        log(f'BatchNorm re-estimation at {DEPLOY_SIZE} on {half} training images: teacher agreement on '
            f'{len(train_images) - half} other training images {before:.4f} -> {after:.4f}; '
            f'{"kept" if kept else "discarded"} ({time.time() - t0:.0f}s)')
    student.eval()
    neck_info: Dict = {'method': 'distilled (similarity-matrix loss)'}
    if args.whiten_neck is not None:
        t0 = time.time()
        if eval_images is not None:
            results['student_distilled_neck'] = student_eval(student, eval_images, eval_labels)
        all_train = load_images(args.data, args.split, DEPLOY_SIZE, args.workers)
        feats = embed_all(lambda b: student.forward_features(student_input(b)), all_train)
        del all_train
        w, b = whitening_neck(feats, args.dim, args.whiten_neck)
        with torch.no_grad():
            student.neck.fc.weight.copy_(w)
            student.neck.fc.bias.copy_(b)
        neck_info = {'method': f'PCA to {args.dim} on {len(feats)} training images at {DEPLOY_SIZE}, '
                               f'axes scaled by eigenvalue^-{args.whiten_neck}', 'power': args.whiten_neck}
        log(f'neck replaced: {neck_info["method"]} ({time.time() - t0:.0f}s)')
    if eval_images is not None:
        results['student'] = student_eval(student, eval_images, eval_labels)
        log(f'final eval on {os.path.basename(args.eval_split)} @224: '
            f'{json.dumps({k: round(v, 4) for k, v in results["student"].items()})}')
    meta = {
        'format': 'shitu-web distilled student v1',
        'architecture': 'PPLCNet+linear-neck', 'scale': args.scale, 'embeddingDim': args.dim,
        'batchNorm': 'separate', 'seed': args.seed, 'config': vars(args),
        'trainingSeconds': round(elapsed, 1), 'steps': step, 'imagesSeen': images_seen,
        'epochs': round(step / (len(ds) // args.batch), 3),
        'finalLosses': last, 'bnRecalibration': bn_info, 'neck': neck_info, 'monitoring': results,
        'torch': torch.__version__,
        'provenance': {'teacher': ('TF-slim MobileNetV2 1.0 ImageNet weights (TFLite, run in float)' if args.teacher_tflite
                                   else 'Keras Applications MobileNetV2 alpha 0.35 ImageNet weights (TF.js export)'),
                       'teacher_weights_sha256': teacher_sha256(args),
                       'data': data_credit(ds.paths),
                       'split_sha256': file_sha256(args.split)},
    }
    export(args.out, student, meta)
    log(f'exported {os.path.join(args.out, "student.json")} + student.bin')


if __name__ == '__main__':
    main()
