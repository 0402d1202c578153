/**
 * The few largest eigenpairs of a symmetric positive semi-definite operator that is only applied, never
 * stored: Lanczos with full reorthogonalisation, its tridiagonal matrix solved by implicit QL (EISPACK's
 * tql2, as in JAMA). Converged pairs are exact to rounding; when the Krylov space runs out (an invariant
 * subspace, or `size` steps) the Ritz pairs are the exact eigenpairs of the operator. Deterministic: the start
 * vector comes from a fixed mulberry32 seed.
 */
import { mulberry32 } from '../seeded-random.ts';

export interface SymmetricOperator {
  /** The operator is size x size. */
  readonly size: number;
  /** out = A v; `out` is not `v`. */
  apply(v: Float64Array, out: Float64Array): void;
}

export interface TopEigenpairsOptions {
  /** Stop when every wanted pair's residual |A y - θ y| is at most this times the largest Ritz value. */
  readonly tolerance?: number;
}

export interface TopEigenpairs {
  /** Largest first; fewer than asked only when the operator has fewer (its Krylov space ran out). */
  readonly values: readonly number[];
  /** Unit vectors, one per value. */
  readonly vectors: readonly Float64Array[];
  /** Lanczos steps taken (operator applications). */
  readonly steps: number;
}

const DEFAULT_TOLERANCE = 1e-10;
const START_SEED = 0x5eed;

export function topEigenpairs(op: SymmetricOperator, count: number, options: TopEigenpairsOptions = {}): TopEigenpairs {
  const m = op.size;
  const tol = options.tolerance ?? DEFAULT_TOLERANCE;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`topEigenpairs: count must be a positive integer; got ${count}`);
  if (m < 1) throw new RangeError('topEigenpairs: the operator has size 0');
  const rand = mulberry32(START_SEED);
  const q0 = new Float64Array(m);
  for (let i = 0; i < m; i++) q0[i] = rand() - 0.5;
  scale(q0, 1 / norm(q0));
  const basis: Float64Array[] = [q0];
  const alpha: number[] = [];
  const beta: number[] = [];
  const w = new Float64Array(m);
  let ritz: { values: Float64Array; vectors: Float64Array } | undefined;
  for (let j = 0; ; j++) {
    const q = basis[j]!;
    op.apply(q, w);
    const a = dot(q, w);
    alpha.push(a);
    axpy(-a, q, w);
    if (j > 0) axpy(-beta[j - 1]!, basis[j - 1]!, w);
    // Twice is enough (Kahan's "twice is enough"): the basis stays orthogonal to rounding.
    for (let pass = 0; pass < 2; pass++) for (const b of basis) axpy(-dot(b, w), b, w);
    const b = norm(w);
    const k = j + 1;
    const exhausted = k === m || b <= 1e-14 * Math.max(Math.abs(a), ...alpha.map(Math.abs), 1e-300);
    // Solving T costs O(k^3): every step while it is small, then every eighth.
    if (exhausted || k <= 32 || k % 8 === 0) {
      ritz = tridiagonalEigen(Float64Array.from(alpha), Float64Array.from(beta));
      const top = ritz.values[k - 1]!;
      let converged = k >= Math.min(count, m);
      for (let i = 0; i < Math.min(count, k) && converged; i++) {
        const col = k - 1 - i;
        converged = b * Math.abs(ritz.vectors[(k - 1) * k + col]!) <= tol * Math.max(top, 1e-300);
      }
      if (exhausted || converged) return ritzPairs(ritz, basis, Math.min(count, k), m, j + 1);
    }
    beta.push(b);
    const next = new Float64Array(m);
    for (let i = 0; i < m; i++) next[i] = w[i]! / b;
    basis.push(next);
  }
}

function ritzPairs(
  ritz: { values: Float64Array; vectors: Float64Array },
  basis: readonly Float64Array[],
  count: number,
  m: number,
  steps: number,
): TopEigenpairs {
  const k = ritz.values.length;
  const values: number[] = [];
  const vectors: Float64Array[] = [];
  for (let i = 0; i < count; i++) {
    const col = k - 1 - i;
    const y = new Float64Array(m);
    for (let r = 0; r < k; r++) axpy(ritz.vectors[r * k + col]!, basis[r]!, y);
    scale(y, 1 / norm(y));
    values.push(ritz.values[col]!);
    vectors.push(y);
  }
  return { values, vectors, steps };
}

/**
 * Eigenvalues (ascending) and eigenvectors of the symmetric tridiagonal matrix with diagonal `diag` (n) and
 * off-diagonal `off` (n - 1; off[i] couples i and i + 1). `vectors` is n x n row-major, eigenvector i in
 * column i. Implicit QL with Wilkinson shifts (tql2).
 */
export function tridiagonalEigen(
  diag: Float64Array,
  off: Float64Array,
): { values: Float64Array; vectors: Float64Array } {
  const n = diag.length;
  if (off.length !== n - 1)
    throw new RangeError(`tridiagonalEigen: ${n} diagonal values need ${n - 1} off-diagonal; got ${off.length}`);
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  e.set(off);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('tridiagonalEigen: no convergence after 100 QL iterations');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            const row = k * n;
            h = v[row + i + 1]!;
            v[row + i + 1] = s * v[row + i]! + c * h;
            v[row + i] = c * v[row + i]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  // Ascending order, vectors moved with their values.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a]! - d[b]! || a - b);
  const values = Float64Array.from(order, (i) => d[i]!);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) vectors[r * n + c] = v[r * n + order[c]!]!;
  return { values, vectors };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function axpy(k: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i]! += k * x[i]!;
}

function scale(a: Float64Array, k: number): void {
  for (let i = 0; i < a.length; i++) a[i]! *= k;
}
