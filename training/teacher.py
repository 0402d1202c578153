"""The distillation teacher: Keras MobileNetV2 (alpha 0.35, ImageNet) from a TF.js layers export, in PyTorch.

The graph is read from model.json, not re-typed: the first Keras `Model` inside the export (`model2`, the
ImageNet trunk ending at `out_relu`, 7 x 7 x 1280 at 224) is executed layer by layer following its
`inbound_nodes`, then the Sequential's GlobalAveragePooling2D gives the 1280-d feature. Weights are matched
to layers by NAME (the TF.js manifest stores the BatchNorm moving statistics after all trainable weights,
so positions mean nothing); every trunk weight must be used exactly once, and the only weights left over
must belong to the Teachable Machine head, which is ignored.

Keras semantics kept: NHWC kernels transposed to OIHW, BatchNorm epsilon read from each layer's config
(1e-3 here, not PyTorch's 1e-5), ReLU(max_value=6), explicit ZeroPadding2D ((0, 1), (0, 1)) before the
stride-2 'valid' convolutions, 'same' only where it is symmetric (stride 1, odd kernel).

Input: NCHW float RGB scaled to [-1, 1] (x / 127.5 - 1). The trunk ends in global average pooling, so any
input size works; the weights were trained at 224.

Self-check: `/usr/bin/python3 training/teacher.py --teacher <dir> --self-check` prints the feature of a
fixed, formula-defined input (see `fixed_input`) that a TF.js script can rebuild exactly.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TRUNK_CLASSES = ('Model', 'Functional')


def _find_trunk(config: dict) -> Tuple[dict, Optional[dict]]:
    """The first Keras Model in the topology and the layer that follows it in its Sequential (the pooling)."""

    def walk(layers: List[dict]):
        for i, layer in enumerate(layers):
            if layer['class_name'] in TRUNK_CLASSES:
                return layer['config'], (layers[i + 1] if i + 1 < len(layers) else None)
            if layer['class_name'] == 'Sequential':
                found = walk(layer['config']['layers'])
                if found:
                    return found
        return None

    top = config['config']['layers'] if config['class_name'] == 'Sequential' else [config]
    found = walk(top)
    if not found:
        raise ValueError('teacher: no Keras Model (the MobileNetV2 trunk) found in model.json')
    return found


def load_manifest_weights(teacher_dir: str) -> Tuple[dict, Dict[str, np.ndarray]]:
    """model.json and every weight of weights.bin as name -> float32 array (Keras layout)."""
    with open(os.path.join(teacher_dir, 'model.json')) as f:
        model_json = json.load(f)
    weights: Dict[str, np.ndarray] = {}
    for group in model_json['weightsManifest']:
        blob = b''.join(open(os.path.join(teacher_dir, p), 'rb').read() for p in group['paths'])
        offset = 0
        for w in group['weights']:
            if w.get('dtype', 'float32') != 'float32' or 'quantization' in w:
                raise ValueError(f"teacher: weight {w['name']} is {w.get('dtype')}/quantised; only float32 is supported")
            count = int(np.prod(w['shape'])) if w['shape'] else 1
            arr = np.frombuffer(blob, dtype='<f4', count=count, offset=offset).reshape(w['shape'])
            offset += 4 * count
            if w['name'] in weights:
                raise ValueError(f"teacher: weight {w['name']} appears twice in the manifest")
            weights[w['name']] = arr.astype(np.float32)
        if offset != len(blob):
            raise ValueError(f'teacher: manifest describes {offset} bytes, weights file has {len(blob)}')
    return model_json, weights


class _Layer(nn.Module):
    """One Keras layer: a module plus the names of the layers it reads."""

    def __init__(self, name: str, kind: str, inputs: List[str], module: Optional[nn.Module], extra=None):
        super().__init__()
        self.layer_name, self.kind, self.inputs, self.extra = name, kind, inputs, extra
        self.module = module


class KerasTrunk(nn.Module):
    """Executes the trunk's layer list; Keras lists layers in a valid topological order."""

    def __init__(self, trunk: dict, pooling: Optional[dict], weights: Dict[str, np.ndarray]):
        super().__init__()
        self.used: Dict[str, int] = {}
        layers = nn.ModuleList()
        self._weights = weights
        for spec in trunk['layers']:
            layers.append(self._build(spec))
        self.layers = layers
        self.output_name = trunk['output_layers'][0][0]
        self.input_name = trunk['input_layers'][0][0]
        if pooling is not None and pooling['class_name'] != 'GlobalAveragePooling2D':
            raise ValueError(f"teacher: expected GlobalAveragePooling2D after the trunk, got {pooling['class_name']}")
        del self._weights

    def _take(self, layer: str, suffix: str, shape: Tuple[int, ...]) -> torch.Tensor:
        name = f'{layer}/{suffix}'
        if name not in self._weights:
            raise KeyError(f'teacher: layer {layer} needs weight {name}, which the manifest lacks')
        arr = self._weights[name]
        if tuple(arr.shape) != tuple(shape):
            raise ValueError(f'teacher: weight {name} has shape {list(arr.shape)}, expected {list(shape)}')
        self.used[name] = self.used.get(name, 0) + 1
        return torch.from_numpy(arr.copy())

    def _build(self, spec: dict) -> _Layer:
        kind, cfg, name = spec['class_name'], spec['config'], spec['name']
        nodes = spec.get('inbound_nodes', [])
        if len(nodes) > 1:
            raise ValueError(f'teacher: layer {name} is shared ({len(nodes)} nodes); not supported')
        inputs = [n[0] for n in nodes[0]] if nodes else []
        for n in (nodes[0] if nodes else []):
            if n[1] != 0 or n[2] != 0:
                raise ValueError(f'teacher: layer {name} reads node {n[1]} / tensor {n[2]} of {n[0]}; not supported')
        if kind == 'InputLayer':
            return _Layer(name, kind, inputs, None)
        if kind == 'ZeroPadding2D':
            (top, bottom), (left, right) = cfg['padding']
            _channels_last(cfg, name)
            return _Layer(name, kind, inputs, None, (left, right, top, bottom))
        if kind in ('Conv2D', 'DepthwiseConv2D'):
            return _Layer(name, kind, inputs, self._conv(kind, cfg, name))
        if kind == 'BatchNormalization':
            return _Layer(name, kind, inputs, self._batch_norm(cfg, name))
        if kind == 'ReLU':
            if cfg.get('negative_slope', 0) not in (0, 0.0) or cfg.get('threshold', 0) not in (0, 0.0):
                raise ValueError(f'teacher: ReLU {name} has a slope/threshold; not supported')
            return _Layer(name, kind, inputs, None, cfg.get('max_value'))
        if kind == 'Add':
            return _Layer(name, kind, inputs, None)
        raise ValueError(f'teacher: layer {name} of class {kind} is not supported')

    def _conv(self, kind: str, cfg: dict, name: str) -> nn.Conv2d:
        _channels_last(cfg, name)
        if cfg.get('activation', 'linear') != 'linear':
            raise ValueError(f"teacher: {name} has activation {cfg['activation']}; not supported")
        if tuple(cfg.get('dilation_rate', (1, 1))) != (1, 1):
            raise ValueError(f'teacher: {name} is dilated; not supported')
        kh, kw = cfg['kernel_size']
        sh, sw = cfg['strides']
        if cfg['padding'] == 'valid':
            pad = (0, 0)
        elif cfg['padding'] == 'same' and sh == sw == 1 and kh % 2 == 1 and kw % 2 == 1:
            pad = (kh // 2, kw // 2)
        else:
            raise ValueError(f"teacher: {name}: padding {cfg['padding']} at stride {sh} is asymmetric; not supported")
        bias = cfg.get('use_bias', True)
        if kind == 'Conv2D':
            kernel_name = 'kernel'
            kernel = self._weights.get(f'{name}/kernel')
            if kernel is None:
                raise KeyError(f'teacher: no weight {name}/kernel')
            cin, cout = kernel.shape[2], cfg['filters']
            conv = nn.Conv2d(cin, cout, (kh, kw), (sh, sw), pad, bias=bias)
            w = self._take(name, kernel_name, (kh, kw, cin, cout)).permute(3, 2, 0, 1)
        else:
            if cfg.get('depth_multiplier', 1) != 1:
                raise ValueError(f'teacher: {name} has depth_multiplier != 1; not supported')
            kernel = self._weights.get(f'{name}/depthwise_kernel')
            if kernel is None:
                raise KeyError(f'teacher: no weight {name}/depthwise_kernel')
            c = kernel.shape[2]
            cout = c
            conv = nn.Conv2d(c, c, (kh, kw), (sh, sw), pad, groups=c, bias=bias)
            w = self._take(name, 'depthwise_kernel', (kh, kw, c, 1)).permute(2, 3, 0, 1)
        with torch.no_grad():
            conv.weight.copy_(w.contiguous())
            if bias:
                conv.bias.copy_(self._take(name, 'bias', (cout,)))
        return conv

    def _batch_norm(self, cfg: dict, name: str) -> nn.BatchNorm2d:
        axis = cfg.get('axis', -1)
        if axis not in (-1, 3, [-1], [3]):
            raise ValueError(f'teacher: BatchNormalization {name} on axis {axis}; not supported')
        c = self._weights[f'{name}/moving_mean'].shape[0]
        bn = nn.BatchNorm2d(c, eps=float(cfg['epsilon']), affine=True)
        with torch.no_grad():
            bn.weight.copy_(self._take(name, 'gamma', (c,)) if cfg.get('scale', True) else torch.ones(c))
            bn.bias.copy_(self._take(name, 'beta', (c,)) if cfg.get('center', True) else torch.zeros(c))
            bn.running_mean.copy_(self._take(name, 'moving_mean', (c,)))
            bn.running_var.copy_(self._take(name, 'moving_variance', (c,)))
        return bn

    @torch.no_grad()
    def fold_batch_norm(self) -> int:
        """Folds each BatchNorm into the convolution it alone reads (inference only); returns how many."""
        by_name = {l.layer_name: l for l in self.layers}
        consumers: Dict[str, int] = {}
        for l in self.layers:
            for i in l.inputs:
                consumers[i] = consumers.get(i, 0) + 1
        folded = 0
        for l in self.layers:
            if l.kind != 'BatchNormalization' or len(l.inputs) != 1:
                continue
            src = by_name[l.inputs[0]]
            if src.kind not in ('Conv2D', 'DepthwiseConv2D') or consumers[src.layer_name] != 1:
                continue
            bn, conv = l.module, src.module
            k = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            new = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            groups=conv.groups, bias=True)
            new.weight.copy_(conv.weight * k.view(-1, 1, 1, 1))
            new.bias.copy_((bias - bn.running_mean) * k + bn.bias)
            src.module = new
            l.kind, l.module = 'Identity', None
            folded += 1
        return folded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: Dict[str, torch.Tensor] = {}
        refs: Dict[str, int] = {}
        for layer in self.layers:
            for i in layer.inputs:
                refs[i] = refs.get(i, 0) + 1
        for layer in self.layers:
            args = [values[i] for i in layer.inputs]
            for i in layer.inputs:  # free activations nobody reads any more
                refs[i] -= 1
                if refs[i] == 0 and i != self.output_name:
                    del values[i]
            k = layer.kind
            if k == 'InputLayer':
                y = x
            elif k == 'ZeroPadding2D':
                y = F.pad(args[0], layer.extra)
            elif k == 'ReLU':
                y = F.relu(args[0]) if layer.extra is None else torch.clamp(args[0], 0.0, float(layer.extra))
            elif k == 'Identity':
                y = args[0]
            elif k == 'Add':
                y = args[0]
                for a in args[1:]:
                    y = y + a
            else:
                y = layer.module(args[0])
            values[layer.layer_name] = y
        return values[self.output_name]


def _channels_last(cfg: dict, name: str) -> None:
    if cfg.get('data_format', 'channels_last') != 'channels_last':
        raise ValueError(f'teacher: {name} is channels_first; not supported')


class Teacher(nn.Module):
    """MobileNetV2 trunk + global average pooling: features(x in [-1, 1], NCHW) -> [N, 1280]."""

    def __init__(self, teacher_dir: str, fold_batch_norm: bool = True):
        super().__init__()
        model_json, weights = load_manifest_weights(teacher_dir)
        trunk, pooling = _find_trunk(model_json['modelTopology'])
        self.trunk = KerasTrunk(trunk, pooling, weights)
        trunk_layers = {l['name'] for l in trunk['layers']}
        unused = [n for n in weights if n not in self.trunk.used]
        twice = [n for n, c in self.trunk.used.items() if c != 1]
        if twice:
            raise ValueError(f'teacher: weights used more than once: {twice}')
        stray = [n for n in unused if n.split('/')[0] in trunk_layers]
        if stray:
            raise ValueError(f'teacher: trunk weights left unused: {stray}')
        self.ignored = unused  # the Teachable Machine head (dense layers after the pooling)
        self.folded = self.trunk.fold_batch_norm() if fold_batch_norm else 0
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):  # the teacher is frozen: BatchNorm always uses its moving statistics
        return super().train(False)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).mean(dim=(2, 3))

    @torch.no_grad()
    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk's last map before pooling: [N, 1280, H/32, W/32]."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def fixed_input(size: int = 224) -> torch.Tensor:
    """A deterministic [1, 3, size, size] input in [-1, 1], easy to rebuild in JavaScript:
    value(y, x, c) = sin(0.05 * x + 0.07 * y + 1.3 * c) * cos(0.031 * x * (c + 1) - 0.023 * y)."""
    y = torch.arange(size, dtype=torch.float64).view(size, 1, 1)
    x = torch.arange(size, dtype=torch.float64).view(1, size, 1)
    c = torch.arange(3, dtype=torch.float64).view(1, 1, 3)
    hwc = torch.sin(0.05 * x + 0.07 * y + 1.3 * c) * torch.cos(0.031 * x * (c + 1) - 0.023 * y)
    return hwc.permute(2, 0, 1).unsqueeze(0).float().contiguous()


def self_check(teacher_dir: str, out_path: Optional[str] = None) -> np.ndarray:
    teacher = Teacher(teacher_dir)
    f = teacher.features(fixed_input()).numpy()[0]
    unfolded = Teacher(teacher_dir, fold_batch_norm=False).features(fixed_input()).numpy()[0]
    print(f'{teacher.folded} BatchNorms folded; max |folded - unfolded| = {np.abs(f - unfolded).max():.3e}')
    print(f'teacher features of fixed_input(224): dim {f.shape[0]}, mean {f.mean():.6f}, norm {np.linalg.norm(f):.6f}')
    print('first 8:', ' '.join(f'{v:.6f}' for v in f[:8]))
    print(f'ignored manifest weights (head): {teacher.ignored}')
    if out_path:
        with open(out_path, 'w') as fh:
            json.dump([float(v) for v in f], fh)
    return f


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--teacher', required=True, help='folder with model.json + weights.bin')
    ap.add_argument('--self-check', action='store_true', help='print the features of the fixed input')
    ap.add_argument('--json-out', help='also write those features as a JSON list')
    args = ap.parse_args()
    torch.set_num_threads(2)
    self_check(args.teacher, args.json_out)
