/**
 * The embedding map's layout: exact principal component analysis of N x D rows down to 2-D. The rows are
 * centred, and the two largest eigenpairs are found by Lanczos (./lanczos.ts) on whichever of the D x D
 * covariance Xᵀ X or the N x N Gram matrix X Xᵀ is smaller (they share their non-zero eigenvalues). Neither
 * matrix is formed: each Lanczos step applies it through X (2 N D multiply-adds), and a few dozen steps
 * converge where forming the covariance alone would cost N D² / 2.
 *
 * Deterministic: each axis is a unit D-vector whose largest-magnitude component is positive (the first such
 * component on a tie), and Lanczos starts from a fixed seed, so the same rows always give the same map.
 */
import { topEigenpairs, type SymmetricOperator } from './lanczos.ts';

export interface Pca2dOptions {
  /**
   * 'auto' (default): the Gram matrix when N < D, else the covariance. The others force one; both give the
   * same map (the tests compare them).
   */
  readonly method?: 'auto' | 'covariance' | 'gram';
}

export interface Pca2dResult {
  /** Each row's coordinate on the first principal axis. */
  readonly x: Float32Array;
  /** ... and on the second. */
  readonly y: Float32Array;
  /** The share of the total variance along each axis (0 to 1; 0 for an axis along which nothing varies). */
  readonly explained: readonly [number, number];
  /** The two axes, unit D-vectors (all zeros for an axis along which nothing varies). */
  readonly axes: readonly [Float64Array, Float64Array];
  /** The rows' mean, subtracted before projecting. */
  readonly mean: Float64Array;
}

/**
 * An axis whose variance is under this share of the total is rounding, not data (identical rows, two rows,
 * rows on a line): its coordinates are 0 and its share 0, so a degenerate map is still defined and stable.
 */
const NEGLIGIBLE_SHARE = 1e-10;

/** Principal components 1 and 2 of `rows` (any length from 1; all rows of one length, finite values). */
export function pca2d(rows: readonly ArrayLike<number>[], options: Pca2dOptions = {}): Pca2dResult {
  const n = rows.length;
  if (n === 0) throw new RangeError('pca2d: no rows');
  const d = rows[0]!.length;
  if (d === 0) throw new RangeError('pca2d: rows have no values');
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'covariance' && method !== 'gram') {
    throw new RangeError(`pca2d: method must be 'auto', 'covariance' or 'gram'; got ${JSON.stringify(method)}`);
  }
  const mean = new Float64Array(d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new RangeError(`pca2d: row ${i} has ${r.length} values, row 0 has ${d}`);
    for (let k = 0; k < d; k++) {
      const x = r[k]!;
      if (!Number.isFinite(x)) throw new RangeError(`pca2d: row ${i} has a non-finite value (${x}) at ${k}`);
      mean[k]! += x;
    }
  });
  for (let k = 0; k < d; k++) mean[k]! /= n;
  const centred = new Float64Array(n * d);
  let total = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    for (let k = 0, o = i * d; k < d; k++, o++) {
      const x = r[k]! - mean[k]!;
      centred[o] = x;
      total += x * x;
      energy += r[k]! * r[k]!;
    }
  }
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const zero = () => new Float64Array(d);
  // Identical rows (or one row): centring leaves rounding only.
  if (!(total > NEGLIGIBLE_SHARE * NEGLIGIBLE_SHARE * energy) || n === 1) {
    return { x, y, explained: [0, 0], axes: [zero(), zero()], mean };
  }

  const gram = method === 'gram' || (method === 'auto' && n < d);
  const pairs = topEigenpairs(gram ? gramOperator(centred, n, d) : covarianceOperator(centred, n, d), 2);
  const explained: [number, number] = [0, 0];
  const axes: [Float64Array, Float64Array] = [zero(), zero()];
  for (let c = 0; c < 2; c++) {
    const value = pairs.values[c] ?? 0;
    if (!(value > NEGLIGIBLE_SHARE * total)) continue;
    // A Gram eigenvector u gives the axis Xᵀ u / |Xᵀ u|.
    const axis = gram ? new Float64Array(d) : Float64Array.from(pairs.vectors[c]!);
    if (gram) rowCombination(centred, n, d, pairs.vectors[c]!, axis);
    normalise(axis);
    orientAxis(axis);
    const coords = new Float64Array(n);
    rowDots(centred, n, d, axis, coords);
    (c === 0 ? x : y).set(coords);
    explained[c] = Math.min(1, value / total);
    axes[c] = axis;
  }
  return { x, y, explained, axes, mean };
}

/** The sign convention: the largest-magnitude component (the first of equals) is made positive. */
export function orientAxis(axis: Float64Array): void {
  let at = 0;
  for (let k = 1; k < axis.length; k++) if (Math.abs(axis[k]!) > Math.abs(axis[at]!)) at = k;
  if (axis[at]! < 0) for (let k = 0; k < axis.length; k++) axis[k] = -axis[k]!;
}

/** v -> Xᵀ X v (D x D), through X: t = X v, then Xᵀ t. */
function covarianceOperator(x: Float64Array, n: number, d: number): SymmetricOperator {
  const t = new Float64Array(n);
  return {
    size: d,
    apply(v, out) {
      rowDots(x, n, d, v, t);
      rowCombination(x, n, d, t, out);
    },
  };
}

/** u -> X Xᵀ u (N x N), through X: z = Xᵀ u, then X z. */
function gramOperator(x: Float64Array, n: number, d: number): SymmetricOperator {
  const z = new Float64Array(d);
  return {
    size: n,
    apply(u, out) {
      rowCombination(x, n, d, u, z);
      rowDots(x, n, d, z, out);
    },
  };
}

/** out = X v: each row's dot product with v (four rows a pass over v). */
function rowDots(x: Float64Array, n: number, d: number, v: ArrayLike<number>, out: Float64Array): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < d; k++) {
      const vk = v[k]!;
      s0 += x[o0 + k]! * vk;
      s1 += x[o1 + k]! * vk;
      s2 += x[o2 + k]! * vk;
      s3 += x[o3 + k]! * vk;
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < n; i++) {
    const o = i * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += x[o + k]! * v[k]!;
    out[i] = s;
  }
}

/** out = Xᵀ u: the rows weighted by u, summed (four rows a pass over out). */
function rowCombination(x: Float64Array, n: number, d: number, u: ArrayLike<number>, out: Float64Array): void {
  out.fill(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    const [w0, w1, w2, w3] = [u[i]!, u[i + 1]!, u[i + 2]!, u[i + 3]!];
    for (let k = 0; k < d; k++) out[k]! += w0 * x[o0 + k]! + w1 * x[o1 + k]! + w2 * x[o2 + k]! + w3 * x[o3 + k]!;
  }
  for (; i < n; i++) {
    const w = u[i]!;
    const o = i * d;
    for (let k = 0; k < d; k++) out[k]! += w * x[o + k]!;
  }
}

function normalise(v: Float64Array): void {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k]! * v[k]!;
  const inv = 1 / Math.sqrt(s);
  for (let k = 0; k < v.length; k++) v[k]! *= inv;
}
