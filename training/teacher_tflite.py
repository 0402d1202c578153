"""The stronger teacher: ImageNet MobileNetV2 1.0 from ../shared/models/teacher-mobilenetv2-100, run as float
PyTorch ops by the loader that ships beside the .tflite file (tflite_teacher.py, imported from there, not
copied). Same interface as teacher.Teacher: features(x) with x in [-1, 1], NCHW -> [N, 1280] (the global
average pool before the classifier, not normalised).

The loader's float mode maps uint8 pixels u to u / 127.5 - 1, so x is handed over as (x + 1) * 127.5 (a float
tensor, not rounded): the augmented views keep their full precision.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import sys

import torch


class TFLiteTeacher:
    def __init__(self, path: str):
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module = importlib.import_module('tflite_teacher')
        self.net = module.TFLiteNet(path)
        # channels_last convolutions: 31 against 26 img/s (batch 32, 2 threads, training running alongside).
        for op in self.net.ops:
            w = op.get('w')
            if isinstance(w, torch.Tensor) and w.ndim == 4:
                op['w'] = w.contiguous(memory_format=torch.channels_last)
        self.path = path
        with open(path, 'rb') as f:
            self.sha256 = hashlib.sha256(f.read()).hexdigest()

    def to(self, *args, **kwargs) -> 'TFLiteTeacher':  # the loader's weights are plain tensors on the CPU
        return self

    def eval(self) -> 'TFLiteTeacher':
        return self

    def train(self, mode: bool = True) -> 'TFLiteTeacher':
        return self

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        pooled, _ = self.net.forward(((x + 1.0) * 127.5).contiguous(memory_format=torch.channels_last))
        return pooled

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        raise SystemExit('--spatial-weight needs the teacher\'s last feature map, which the TFLite teacher does not expose')
