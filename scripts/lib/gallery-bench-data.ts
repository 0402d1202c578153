/**
 * The gallery benchmark's synthetic embeddings, the same in Node and in the page from one seed:
 * `centres` gaussian directions in `dim` dimensions (each value N(0, 1), then L2-normalised), and each point
 * one centre, chosen uniformly, plus gaussian noise of total norm about `noise` (each value N(0, noise^2 /
 * dim)), L2-normalised again. With noise 0.75 a point's cosine to its centre is about 0.8 and two points of
 * one centre about 0.64, near what an embedder gives two photos of one object; points of different centres
 * are about 0 +- 0.044. Gallery points and queries are separate streams of the same distribution (queries
 * are never in the index). Random numbers: mulberry32, gaussians by Box-Muller (both outputs used).
 */
import { mulberry32 } from '../../src/core/seeded-random.ts';

export interface ClusteredSpec {
  readonly dim: number;
  readonly centres: number;
  readonly noise: number;
  readonly seed: number;
}

export const GALLERY_BENCH_DATA: ClusteredSpec = { dim: 512, centres: 4096, noise: 0.75, seed: 20240611 };

function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare = Number.NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = Number.NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const t = 2 * Math.PI * uniform();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

function normalize(v: Float32Array, at: number, dim: number): void {
  let s = 0;
  for (let i = at; i < at + dim; i++) s += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(s);
  for (let i = at; i < at + dim; i++) v[i]! *= inv;
}

export class ClusteredVectors {
  private readonly centres: Float32Array;

  constructor(readonly spec: ClusteredSpec = GALLERY_BENCH_DATA) {
    const { dim, centres } = spec;
    const g = gaussian(spec.seed);
    this.centres = new Float32Array(centres * dim);
    for (let i = 0; i < this.centres.length; i++) this.centres[i] = g();
    for (let c = 0; c < centres; c++) normalize(this.centres, c * dim, dim);
  }

  /** A stream of points: 'gallery' and 'queries' never share a point. */
  stream(which: 'gallery' | 'queries'): (count: number) => Float32Array {
    const { dim, centres, noise, seed } = this.spec;
    const offset = which === 'gallery' ? 1 : 2;
    const pick = mulberry32(seed + offset);
    const g = gaussian(seed + 100 + offset);
    const sigma = noise / Math.sqrt(dim);
    return (count) => {
      const out = new Float32Array(count * dim);
      for (let p = 0; p < count; p++) {
        const c = Math.floor(pick() * centres) * dim;
        const at = p * dim;
        for (let i = 0; i < dim; i++) out[at + i] = this.centres[c + i]! + sigma * g();
        normalize(out, at, dim);
      }
      return out;
    };
  }
}
