/**
 * An independent, deliberately naive PP-LCNet forward pass in float64 and NCHW, written from the reference
 * (not from src/model/builder.ts): plain loops, BatchNorm applied as BatchNorm (not folded), Paddle's
 * symmetric padding. Slow; used on small inputs to check the tfjs builder.
 */
import type { StateDict } from '../../../src/core/state-dict.ts';
import { planPPLCNet } from '../../../src/model/architecture.ts';

type Map3 = { c: number; h: number; w: number; v: Float64Array };

const hswish = (x: number) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
const hsigmoid = (x: number) => Math.min(Math.max(x / 6 + 0.5, 0), 1);

function conv(x: Map3, sd: StateDict, name: string, stride: number, groups: number): Map3 {
  const wt = sd.get(name)!;
  const [oc, icg, k] = [wt.shape[0]!, wt.shape[1]!, wt.shape[2]!];
  const pad = (k - 1) / 2;
  const h = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const w = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(oc * h * w);
  const ocg = oc / groups;
  for (let o = 0; o < oc; o++) {
    const g = Math.floor(o / ocg);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let i = 0; i < icg; i++) {
          const ci = g * icg + i;
          for (let ky = 0; ky < k; ky++) {
            const iy = y * stride - pad + ky;
            if (iy < 0 || iy >= x.h) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = xx * stride - pad + kx;
              if (ix < 0 || ix >= x.w) continue;
              s += x.v[(ci * x.h + iy) * x.w + ix]! * wt.data[((o * icg + i) * k + ky) * k + kx]!;
            }
          }
        }
        out[(o * h + y) * w + xx] = s;
      }
  }
  return { c: oc, h, w, v: out };
}

function bnAct(x: Map3, sd: StateDict, prefix: string): Map3 {
  const g = sd.get(`${prefix}.bn.weight`)!.data;
  const b = sd.get(`${prefix}.bn.bias`)!.data;
  const m = sd.get(`${prefix}.bn._mean`)!.data;
  const v = sd.get(`${prefix}.bn._variance`)!.data;
  const out = new Float64Array(x.v.length);
  const hw = x.h * x.w;
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < hw; i++) out[c * hw + i] = hswish(((x.v[c * hw + i]! - m[c]!) / Math.sqrt(v[c]! + 1e-5)) * g[c]! + b[c]!);
  return { ...x, v: out };
}

function linear(x: Float64Array, w: Float32Array, outDim: number, bias?: Float32Array, oiLayout = false): Float64Array {
  const out = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let s = bias ? bias[o]! : 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * (oiLayout ? w[o * x.length + i]! : w[i * outDim + o]!);
    out[o] = s;
  }
  return out;
}

function gap(x: Map3): Float64Array {
  const out = new Float64Array(x.c);
  const hw = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    for (let i = 0; i < hw; i++) s += x.v[c * hw + i]!;
    out[c] = s / hw;
  }
  return out;
}

/** One image, CHW float input -> the neck output (not normalised), and the 1280-d feature. */
export function referenceForward(sd: StateDict, scale: number, chw: Float64Array, h: number, w: number) {
  const plan = planPPLCNet(scale);
  let x: Map3 = { c: 3, h, w, v: chw };
  x = bnAct(conv(x, sd, 'backbone.conv1.conv.weight', 2, 1), sd, 'backbone.conv1');
  for (const b of plan.blocks) {
    const p = `backbone.${b.name}`;
    x = bnAct(conv(x, sd, `${p}.dw_conv.conv.weight`, b.stride, x.c), sd, `${p}.dw_conv`);
    if (b.seChannels) {
      const s1 = linear(gap(x), sd.get(`${p}.se.conv1.weight`)!.data, b.seChannels, sd.get(`${p}.se.conv1.bias`)!.data, true).map((v) => Math.max(v, 0));
      const s2 = linear(s1, sd.get(`${p}.se.conv2.weight`)!.data, x.c, sd.get(`${p}.se.conv2.bias`)!.data, true).map(hsigmoid);
      const hw = x.h * x.w;
      const v = x.v.map((val, i) => val * s2[Math.floor(i / hw)]!);
      x = { ...x, v };
    }
    x = bnAct(conv(x, sd, `${p}.pw_conv.conv.weight`, 1, 1), sd, `${p}.pw_conv`);
  }
  const pooled = gap(x);
  const feature = linear(pooled, sd.get('backbone.last_conv.weight')!.data, 1280, undefined, true).map((v) => hswish(v) * 0.8);
  const neck = sd.get('neck.fc.weight')!;
  const embedding = linear(feature, neck.data, neck.shape[1]!, sd.get('neck.fc.bias')!.data);
  return { feature, embedding };
}
