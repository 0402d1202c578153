"""Reads a ShiTu Web weight manifest (models/<id>/manifest.json + shards, src/core/manifest.ts) into
canonical numpy tensors, so a run can start from a shipped model (`distill.py --init-from models/default`)."""
import hashlib
import json
import os
from typing import Dict

import numpy as np

DTYPES = {'fp32': np.dtype('<f4'), 'fp16': np.dtype('<f2')}


def read_manifest_weights(folder: str) -> Dict[str, np.ndarray]:
    with open(os.path.join(folder, 'manifest.json'), encoding='utf-8') as f:
        manifest = json.load(f)
    if manifest.get('format') != 'shitu-web/weights' or manifest.get('formatVersion') != 1:
        raise ValueError(f'{folder}: not a shitu-web/weights v1 manifest')
    dtype = DTYPES[manifest['dtype']]
    shards = []
    for s in manifest['shards']:
        with open(os.path.join(folder, s['file']), 'rb') as f:
            data = f.read()
        if len(data) != s['byteLength'] or hashlib.sha256(data).hexdigest() != s['sha256']:
            raise ValueError(f'{folder}/{s["file"]}: size or SHA-256 differs from the manifest')
        shards.append(data)
    out: Dict[str, np.ndarray] = {}
    for t in manifest['tensors']:
        count = int(np.prod(t['shape'])) if t['shape'] else 1
        raw = np.frombuffer(shards[t['shard']], dtype=dtype, count=count, offset=t['byteOffset'])
        out[t['name']] = raw.astype(np.float32).reshape(t['shape'])
    return out
