import { describe, expect, it } from 'vitest';
import { tridiagonalEigen, topEigenpairs } from '../../src/core/embedding-map/lanczos.ts';
import { pca2d } from '../../src/core/embedding-map/pca.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';

const unit = (v: Float64Array | number[]) => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};

/** Rows with a clear structure: strong spread along u1, less along u2, a little noise everywhere; normalised. */
function structured(n: number, d: number, seed: number): Float32Array[] {
  const rnd = normalSampler(seed);
  const dir = () => unit(Float64Array.from({ length: d }, rnd));
  const [u1, u2, base] = [dir(), dir(), dir()];
  return Array.from({ length: n }, () => {
    const a = 3 * rnd();
    const b = 1.5 * rnd();
    return unit(Float64Array.from({ length: d }, (_, k) => 4 * base[k]! + a * u1[k]! + b * u2[k]! + 0.1 * rnd()));
  });
}

/** The reference, another way: the covariance formed outright, power iteration, deflation. */
function referencePca(rows: readonly Float32Array[]): { axes: Float64Array[]; values: number[]; total: number } {
  const n = rows.length;
  const d = rows[0]!.length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let k = 0; k < d; k++) mean[k]! += r[k]! / n;
  const c = new Float64Array(d * d);
  let total = 0;
  for (const r of rows) {
    for (let i = 0; i < d; i++) {
      total += (r[i]! - mean[i]!) ** 2;
      for (let j = 0; j < d; j++) c[i * d + j]! += (r[i]! - mean[i]!) * (r[j]! - mean[j]!);
    }
  }
  const axes: Float64Array[] = [];
  const values: number[] = [];
  for (let comp = 0; comp < 2; comp++) {
    let v = Float64Array.from({ length: d }, (_, k) => 1 + k / d);
    let lambda = 0;
    for (let it = 0; it < 3000; it++) {
      const w = new Float64Array(d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) w[i]! += c[i * d + j]! * v[j]!;
      lambda = Math.hypot(...w);
      v = w.map((x) => x / lambda);
    }
    axes.push(v);
    values.push(lambda);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j]! -= lambda * v[i]! * v[j]!;
  }
  return { axes, values, total };
}

describe('pca2d', () => {
  it('finds known axes by hand, centring first', () => {
    // Spread 2 along the second coordinate, 1 along the first, none along the third; offset by (5, 5, 5).
    const rows = [
      [5, 7, 5],
      [5, 3, 5],
      [6, 5, 5],
      [4, 5, 5],
    ];
    for (const method of ['auto', 'covariance', 'gram'] as const) {
      const r = pca2d(rows, { method });
      expect([...r.x].map((v) => Number(v.toFixed(6)) + 0)).toEqual([2, -2, 0, 0]);
      expect([...r.y].map((v) => Number(v.toFixed(6)) + 0)).toEqual([0, 0, 1, -1]);
      expect(r.explained[0]).toBeCloseTo(0.8, 12);
      expect(r.explained[1]).toBeCloseTo(0.2, 12);
      expect([...r.axes[0]].map((v) => Number(v.toFixed(9)) + 0)).toEqual([0, 1, 0]);
      expect([...r.mean]).toEqual([5, 5, 5]);
    }
  });

  it('matches power iteration on the covariance, through the covariance (N > D) and the Gram matrix (N < D)', () => {
    for (const [n, d] of [
      [300, 24],
      [40, 96],
    ] as const) {
      const rows = structured(n, d, n + d);
      const ref = referencePca(rows);
      const r = pca2d(rows);
      for (let c = 0; c < 2; c++) {
        const axis = r.axes[c]!;
        const cos = axis.reduce((s, x, k) => s + x * ref.axes[c]![k]!, 0);
        expect(Math.abs(cos)).toBeGreaterThan(1 - 1e-9);
        expect(r.explained[c]).toBeCloseTo(ref.values[c]! / ref.total, 9);
        const coords = c === 0 ? r.x : r.y;
        const sign = Math.sign(cos);
        rows.forEach((row, i) => {
          const expected = row.reduce((s, x, k) => s + (x - r.mean[k]!) * ref.axes[c]![k]!, 0) * sign;
          expect(coords[i]).toBeCloseTo(expected, 5);
        });
      }
    }
  });

  it('gives the same map through either matrix', () => {
    const rows = structured(30, 40, 7);
    const a = pca2d(rows, { method: 'covariance' });
    const b = pca2d(rows, { method: 'gram' });
    for (let i = 0; i < rows.length; i++) {
      expect(a.x[i]).toBeCloseTo(b.x[i]!, 6);
      expect(a.y[i]).toBeCloseTo(b.y[i]!, 6);
    }
    expect(a.explained[0]).toBeCloseTo(b.explained[0], 10);
  });

  it('fixes each axis sign: its largest-magnitude component is positive', () => {
    const rows = structured(120, 32, 3);
    const r = pca2d(rows);
    for (const axis of r.axes) {
      const at = axis.reduce((best, x, k) => (Math.abs(x) > Math.abs(axis[best]!) ? k : best), 0);
      expect(axis[at]).toBeGreaterThan(0);
    }
    // Mirrored rows: same axes, mirrored coordinates. Reordered rows: the same coordinates, reordered.
    const mirrored = pca2d(rows.map((v) => v.map((x) => -x)));
    expect([...mirrored.axes[0]]).toEqual([...r.axes[0]].map((x) => expect.closeTo(x, 9)));
    mirrored.x.forEach((x, i) => expect(x).toBeCloseTo(-r.x[i]!, 5));
    const reversed = pca2d([...rows].reverse());
    reversed.y.forEach((y, i) => expect(y).toBeCloseTo(r.y[rows.length - 1 - i]!, 5));
  });

  it('is deterministic', () => {
    const rows = structured(200, 48, 11);
    const a = pca2d(rows);
    const b = pca2d(rows);
    expect(a.x).toEqual(b.x);
    expect(a.y).toEqual(b.y);
  });

  it('defines degenerate inputs: one row, identical rows, two rows, one dimension', () => {
    expect(pca2d([unit([1, 2, 3])])).toMatchObject({
      x: new Float32Array(1),
      y: new Float32Array(1),
      explained: [0, 0],
    });
    const same = pca2d(Array.from({ length: 5 }, () => unit([0.1, 0.2, 0.3])));
    expect(same.x).toEqual(new Float32Array(5));
    expect(same.y).toEqual(new Float32Array(5));
    expect(same.explained).toEqual([0, 0]);
    // Two rows lie on a line: all the variance on the first axis, none on the second.
    const two = pca2d([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(two.explained).toEqual([1, 0]);
    expect(two.x[0]).toBeCloseTo(-two.x[1]!, 12);
    expect(Math.abs(two.x[0]!)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(two.y).toEqual(new Float32Array(2));
    const line = pca2d([[1], [3]]);
    expect([...line.x]).toEqual([-1, 1]);
    expect(line.explained).toEqual([1, 0]);
  });

  it('refuses what has no map, with exact messages', () => {
    expect(() => pca2d([])).toThrow('pca2d: no rows');
    expect(() => pca2d([[]])).toThrow('pca2d: rows have no values');
    expect(() =>
      pca2d([
        [1, 2, 3],
        [1, 2],
      ]),
    ).toThrow('pca2d: row 1 has 2 values, row 0 has 3');
    expect(() =>
      pca2d([
        [1, 2],
        [Number.NaN, 2],
      ]),
    ).toThrow('pca2d: row 1 has a non-finite value (NaN) at 0');
    expect(() => pca2d([[1]], { method: 'svd' as 'gram' })).toThrow(
      `pca2d: method must be 'auto', 'covariance' or 'gram'; got "svd"`,
    );
  });
});

describe('lanczos', () => {
  it('solves a tridiagonal matrix', () => {
    const { values, vectors } = tridiagonalEigen(Float64Array.from([2, 2]), Float64Array.from([1]));
    expect([...values].map((v) => Number(v.toFixed(12)))).toEqual([1, 3]);
    expect(Math.abs(vectors[1]!)).toBeCloseTo(Math.SQRT1_2, 12); // (1, 1) / sqrt 2 for the eigenvalue 3
  });

  it('finds the largest eigenpairs of an explicit matrix', () => {
    // diag(1..40) rotated by nothing: the top two are 40 and 39, on the last two coordinates.
    const d = 40;
    const op = { size: d, apply: (v: Float64Array, out: Float64Array) => v.forEach((x, k) => (out[k] = (k + 1) * x)) };
    const r = topEigenpairs(op, 2);
    expect(r.values[0]).toBeCloseTo(40, 9);
    expect(r.values[1]).toBeCloseTo(39, 9);
    expect(Math.abs(r.vectors[0]![d - 1]!)).toBeCloseTo(1, 9);
    expect(Math.abs(r.vectors[1]![d - 2]!)).toBeCloseTo(1, 9);
  });
});
