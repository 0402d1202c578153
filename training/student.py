"""The student: PP-LCNet (any scale) + linear neck, in PyTorch, with PaddleClas's exact inference semantics.

Mirrors ppcls/arch/backbone/legendary_models/pp_lcnet.py and the project's src/model/architecture.ts:
- make_divisible(v, 8) as PaddleClas writes it; NET_CONFIG below is the same table as architecture.ts.
- ConvBNLayer: conv (no bias, symmetric padding (k - 1) // 2) -> BatchNorm (eps 1e-5) -> hardswish.
- SE: avg pool -> 1x1 conv C -> C // 4 (bias) -> ReLU -> 1x1 conv -> C (bias) -> Paddle hardsigmoid
  relu6(x + 3) / 6 (= torch's F.hardsigmoid; NOT tfjs's 0.2 x + 0.5) -> multiply.
- Tail: global average pool -> last_conv 1x1 (no bias) -> hardswish -> x 0.8 -> flatten -> neck Linear.
  The 0.8 is Dropout(p=0.2, mode="downscale_in_infer") at inference. Training applies the same 0.8 and no
  dropout mask: the 1280-d feature is a regression target in distillation, and random masking would only
  add noise to it. So `forward_features` is the same function in training and at export.

Module names are chosen so that PyTorch's state_dict names ARE PaddleClas's (`backbone.blocks5.3.dw_conv.bn.weight`,
`neck.fc.bias`, ...). `state_dict_canonical()` converts to the project's canonical form
(src/model/parameters.ts modelParameters(scale, dim, 'separate')): BN running stats renamed to `_mean` /
`_variance`, `num_batches_tracked` dropped, the neck's weight transposed to Paddle's Linear layout [in, out].

Check of the names and shapes against parameters.ts (run from the repository root):
    node --import tsx -e "import {modelParameters} from './src/model/parameters.ts'; \
      console.log(JSON.stringify(modelParameters(1.0, 512, 'separate')))" > /tmp/expected.json
    /usr/bin/python3 training/student.py --scale 1.0 --dim 512 --check /tmp/expected.json
"""
from __future__ import annotations

import argparse
import json
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# [kernel, in, out, stride, use_se], channels before scaling (PaddleClas NET_CONFIG).
NET_CONFIG: Dict[str, List[Tuple[int, int, int, int, bool]]] = {
    'blocks2': [(3, 16, 32, 1, False)],  # 112 x 112 at a 224 input
    'blocks3': [(3, 32, 64, 2, False), (3, 64, 64, 1, False)],  # 112 -> 56
    'blocks4': [(3, 64, 128, 2, False), (3, 128, 128, 1, False)],  # 56 -> 28
    'blocks5': [(3, 128, 256, 2, False)] + [(5, 256, 256, 1, False)] * 5,  # 28 -> 14
    'blocks6': [(5, 256, 512, 2, True), (5, 512, 512, 1, True)],  # 14 -> 7, squeeze-and-excitation
}
STEM_CHANNELS = 16
LAST_CONV_IN = 512
CLASS_EXPAND = 1280
SE_REDUCTION = 4
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.1  # Paddle's momentum 0.9 on the running value = PyTorch's 0.1 on the batch value
INFERENCE_DROPOUT_SCALE = 0.8


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNLayer(nn.Module):
    def __init__(self, in_c: int, out_c: int, kernel: int, stride: int, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_c, eps=BN_EPSILON, momentum=BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardswish(self.bn(self.conv(x)))


class SEModule(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels // SE_REDUCTION, 1)
        self.conv2 = nn.Conv2d(channels // SE_REDUCTION, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.conv2(F.relu(self.conv1(s))))  # relu6(x + 3) / 6, Paddle's Hardsigmoid
        return x * s


class DepthwiseSeparable(nn.Module):
    def __init__(self, in_c: int, out_c: int, kernel: int, stride: int, use_se: bool):
        super().__init__()
        self.dw_conv = ConvBNLayer(in_c, in_c, kernel, stride, groups=in_c)
        self.use_se = use_se
        if use_se:
            self.se = SEModule(in_c)
        self.pw_conv = ConvBNLayer(in_c, out_c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dw_conv(x)
        if self.use_se:
            x = self.se(x)
        return self.pw_conv(x)


class PPLCNet(nn.Module):
    """The backbone up to and including last_conv: NCHW ImageNet-normalised RGB -> [N, 1280]."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale
        self.conv1 = ConvBNLayer(3, make_divisible(STEM_CHANNELS * scale), 3, 2)
        for stage, rows in NET_CONFIG.items():
            setattr(self, stage, nn.Sequential(*[
                DepthwiseSeparable(make_divisible(i * scale), make_divisible(o * scale), k, s, se)
                for (k, i, o, s, se) in rows
            ]))
        self.last_conv = nn.Conv2d(make_divisible(LAST_CONV_IN * scale), CLASS_EXPAND, 1, bias=False)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's map, before the global pool: [N, 512*scale, H/32, W/32]."""
        x = self.conv1(x)
        for stage in NET_CONFIG:
            x = getattr(self, stage)(x)
        return x

    def head(self, trunk_map: torch.Tensor) -> torch.Tensor:
        """What PaddleClas does after the trunk: pool, last_conv, hardswish, x 0.8 -> [N, 1280]."""
        x = F.adaptive_avg_pool2d(trunk_map, 1)
        x = F.hardswish(self.last_conv(x)) * INFERENCE_DROPOUT_SCALE
        return torch.flatten(x, 1)

    def spatial_features(self, trunk_map: torch.Tensor) -> torch.Tensor:
        """Training only: last_conv + hardswish at every position (no pool) -> [N, 1280, h, w]."""
        return F.hardswish(self.last_conv(trunk_map)) * INFERENCE_DROPOUT_SCALE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class Neck(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc = nn.Linear(CLASS_EXPAND, dim)
        nn.init.xavier_normal_(self.fc.weight)  # PaddleClas's FC neck uses XavierNormal
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class Student(nn.Module):
    """RecModel without the head: backbone (forward_features, 1280-d) + neck (embedding, D-d)."""

    def __init__(self, scale: float = 1.0, dim: int = 512):
        super().__init__()
        self.scale, self.dim = scale, dim
        self.backbone = PPLCNet(scale)
        self.neck = Neck(dim)
        self._init_weights()

    def _init_weights(self) -> None:
        # PaddleClas's convs use KaimingNormal-like initialisation for training from scratch.
        for m in self.backbone.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward_neck(self, f: torch.Tensor) -> torch.Tensor:
        return self.neck(f)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        f = self.forward_features(x)
        return f, self.forward_neck(f)

    def state_dict_canonical(self) -> 'OrderedDict[str, np.ndarray]':
        """Canonical name -> float32 numpy array, in Paddle layouts, in parameters.ts's order."""
        sd = self.state_dict()
        out: 'OrderedDict[str, np.ndarray]' = OrderedDict()
        for name, t in sd.items():
            if name.endswith('num_batches_tracked'):
                continue
            arr = t.detach().cpu().float().numpy()
            if name.endswith('.running_mean'):
                name = name[: -len('running_mean')] + '_mean'
            elif name.endswith('.running_var'):
                name = name[: -len('running_var')] + '_variance'
            if name == 'neck.fc.weight':
                arr = arr.T  # torch Linear [out, in] -> Paddle Linear [in, out]
            out[name] = np.ascontiguousarray(arr, dtype=np.float32)
        order = [s[0] for s in expected_parameters(self.scale, self.dim)]
        if sorted(order) != sorted(out):
            raise AssertionError('state_dict_canonical: names differ from expected_parameters')
        return OrderedDict((n, out[n]) for n in order)

    @torch.no_grad()
    def load_canonical(self, tensors: Dict[str, np.ndarray]) -> None:
        """The inverse of state_dict_canonical: every expected name and shape must be present, nothing else."""
        specs = expected_parameters(self.scale, self.dim)
        if set(tensors) != {n for n, _ in specs}:
            raise KeyError(f'load_canonical: names differ: missing {sorted({n for n, _ in specs} - set(tensors))[:5]}, '
                           f'extra {sorted(set(tensors) - {n for n, _ in specs})[:5]}')
        sd = self.state_dict()
        for name, shape in specs:
            arr = np.asarray(tensors[name], dtype=np.float32)
            if list(arr.shape) != shape:
                raise ValueError(f'load_canonical: {name} has shape {list(arr.shape)}, expected {shape}')
            if name == 'neck.fc.weight':
                arr = arr.T
            key = name.replace('.bn._mean', '.bn.running_mean').replace('.bn._variance', '.bn.running_var')
            sd[key].copy_(torch.from_numpy(np.ascontiguousarray(arr)))


def expected_parameters(scale: float, dim: int) -> List[Tuple[str, List[int]]]:
    """The rule of src/model/parameters.ts modelParameters(scale, dim, 'separate'), restated; verified against it."""
    specs: List[Tuple[str, List[int]]] = []

    def conv_bn(prefix: str, shape: List[int]) -> None:
        specs.append((f'{prefix}.conv.weight', shape))
        for s in ('weight', 'bias', '_mean', '_variance'):
            specs.append((f'{prefix}.bn.{s}', [shape[0]]))

    conv_bn('backbone.conv1', [make_divisible(STEM_CHANNELS * scale), 3, 3, 3])
    for stage, rows in NET_CONFIG.items():
        for j, (k, i, o, _s, se) in enumerate(rows):
            ci, co, p = make_divisible(i * scale), make_divisible(o * scale), f'backbone.{stage}.{j}'
            conv_bn(f'{p}.dw_conv', [ci, 1, k, k])
            if se:
                r = ci // SE_REDUCTION
                specs += [(f'{p}.se.conv1.weight', [r, ci, 1, 1]), (f'{p}.se.conv1.bias', [r]),
                          (f'{p}.se.conv2.weight', [ci, r, 1, 1]), (f'{p}.se.conv2.bias', [ci])]
            conv_bn(f'{p}.pw_conv', [co, ci, 1, 1])
    specs.append(('backbone.last_conv.weight', [CLASS_EXPAND, make_divisible(LAST_CONV_IN * scale), 1, 1]))
    specs += [('neck.fc.weight', [CLASS_EXPAND, dim]), ('neck.fc.bias', [dim])]
    return specs


def check_against(model: Student, expected_json: str) -> None:
    """Compares state_dict_canonical() with a JSON list of {name, shape} (parameters.ts's modelParameters)."""
    with open(expected_json) as f:
        expected = [(s['name'], list(s['shape'])) for s in json.load(f)]
    got = [(n, list(a.shape)) for n, a in model.state_dict_canonical().items()]
    if got != expected:
        for i, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                raise AssertionError(f'entry {i}: got {g}, parameters.ts has {e}')
        raise AssertionError(f'{len(got)} tensors here, {len(expected)} in parameters.ts')
    print(f'OK: {len(got)} tensors, names, shapes and order match {expected_json}')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--dim', type=int, default=512)
    ap.add_argument('--check', help="JSON from parameters.ts's modelParameters(scale, dim, 'separate')")
    args = ap.parse_args()
    m = Student(args.scale, args.dim)
    n = sum(p.numel() for p in m.parameters())
    print(f'PP-LCNet x{args.scale} + neck {args.dim}: {n / 1e6:.3f} M trainable parameters')
    if args.check:
        check_against(m, args.check)
