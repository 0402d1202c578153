"""Images of a split file, augmented once and shown to both teacher and student ("consistent" distillation).

Each item is ONE random view of an image: RandomResizedCrop (scale 0.25..1, aspect 3/4..4/3, torchvision's
algorithm), horizontal flip, mild colour jitter (brightness / contrast / saturation +-0.2, random order).
The crop box is rendered at the teacher's size and, when it differs, that render is downscaled to the
student's size, so both networks see exactly the same content. Items are uint8 CHW tensors (cheap to pass
between processes); `student_input` / `teacher_input` normalise a batch on the training process.

Randomness: every item draws from np.random.default_rng((seed, epoch, index)), so a view depends only on the
seed, the epoch and the image, never on the number of DataLoader workers or their scheduling.

Evaluation images use the project's inference preprocessing: direct resize to 224 x 224, bilinear with
half-pixel centres and no antialiasing (as OpenCV and tf.image.resizeBilinear(halfPixelCenters) do),
rounded to integers, then ImageNet mean / std.
"""
from __future__ import annotations

import math
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def read_split(root: str, split_file: str) -> Tuple[List[str], List[str]]:
    """(absolute paths, labels) of a split file's `relative/path<TAB>label` lines."""
    paths, labels = [], []
    with open(split_file) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line:
                continue
            parts = line.split('\t')
            if len(parts) != 2:
                raise ValueError(f'{split_file}:{n}: expected "path<TAB>label", got {line!r}')
            paths.append(os.path.join(root, parts[0]))
            labels.append(parts[1])
    if not paths:
        raise ValueError(f'{split_file}: no images')
    return paths, labels


def load_rgb(path: str) -> Image.Image:
    with Image.open(path) as im:
        return im.convert('RGB')


def random_resized_crop_box(rng: np.random.Generator, width: int, height: int,
                            scale: Tuple[float, float], ratio: Tuple[float, float]) -> Tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop.get_params: (left, top, right, bottom)."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return left, top, left + w, top + h
    # Fallback: the largest centred crop whose aspect lies within the range.
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    top, left = (height - h) // 2, (width - w) // 2
    return left, top, left + w, top + h


def color_jitter(img: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    if strength <= 0:
        return img
    ops = [ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color]
    for k in rng.permutation(len(ops)):
        img = ops[k](img).enhance(float(rng.uniform(1 - strength, 1 + strength)))
    return img


def to_chw_uint8(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


class DistillDataset(torch.utils.data.Dataset):
    """Items: (student view uint8 [3, S, S], teacher view uint8 [3, T, T] or an empty tensor when T == S)."""

    def __init__(self, root: str, split_file: str, image_size: int = 160, teacher_size: Optional[int] = None,
                 scale: Tuple[float, float] = (0.25, 1.0), ratio: Tuple[float, float] = (3 / 4, 4 / 3),
                 flip: bool = True, jitter: float = 0.2, seed: int = 0):
        self.paths, self.labels = read_split(root, split_file)
        self.image_size = image_size
        self.teacher_size = teacher_size or image_size
        self.scale, self.ratio, self.flip, self.jitter, self.seed = scale, ratio, flip, jitter, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Call before building each epoch's iterator (workers copy the dataset when the iterator starts)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        img = load_rgb(self.paths[index])
        box = random_resized_crop_box(rng, img.width, img.height, self.scale, self.ratio)
        big = max(self.image_size, self.teacher_size)
        view = img.resize((big, big), Image.BILINEAR, box=box)
        if self.flip and rng.random() < 0.5:
            view = view.transpose(Image.FLIP_LEFT_RIGHT)
        view = color_jitter(view, rng, self.jitter)
        if self.teacher_size == self.image_size:
            return to_chw_uint8(view), torch.empty(0, dtype=torch.uint8)
        small = view.resize((min(self.image_size, self.teacher_size),) * 2, Image.BILINEAR)  # antialiased
        student, teacher = (small, view) if self.image_size < self.teacher_size else (view, small)
        return to_chw_uint8(student), to_chw_uint8(teacher)


class PlainDataset(torch.utils.data.Dataset):
    """A split's images, un-augmented, as uint8 [3, size, size] after the project's direct resize."""

    def __init__(self, root: str, split_file: str, size: int = 224):
        self.paths, self.labels = read_split(root, split_file)
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return direct_resize(load_rgb(self.paths[index]), self.size)


def direct_resize(img: Image.Image, size: int) -> torch.Tensor:
    """PaddleClas ResizeImage(size) as the project's preprocess.ts does it: bilinear, half-pixel centres,
    no antialiasing, rounded to uint8."""
    x = torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1).unsqueeze(0)
    if x.shape[2] != size or x.shape[3] != size:
        x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
    return x[0].round().clamp(0, 255).to(torch.uint8)


_MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255
_STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255


def student_input(x: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float, x / 255 then ImageNet mean / std (PaddleClas NormalizeImage)."""
    return ((x.float() - _MEAN) / _STD).contiguous(memory_format=torch.channels_last)


def teacher_input(x: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float in [-1, 1] (Keras MobileNetV2 preprocess_input)."""
    return (x.float() / 127.5 - 1.0).contiguous(memory_format=torch.channels_last)


def label_ids(labels: Sequence[str]) -> np.ndarray:
    names = {n: i for i, n in enumerate(sorted(set(labels)))}
    return np.array([names[l] for l in labels], dtype=np.int64)


def worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)
