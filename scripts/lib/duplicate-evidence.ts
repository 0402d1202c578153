/**
 * The near-duplicate threshold's rule and table (scripts/duplicate-threshold.ts), apart from the embedding so
 * that they are plain functions of three lists of cosines:
 *
 *   variants        (original, variant) pairs: what the threshold must keep together
 *   sameClassBest   each sampled image's best cosine with a distinct image of its own class (different file
 *                   contents): what it must keep apart, the hardest case a gallery holds
 *   otherClassBest  the same against other classes, for scale
 *
 * The rule: the threshold, on a 0.01 grid from 0.50 to 0.99, that maximises (share of variant pairs kept) minus
 * (share of images grouped with a distinct image of their class), Youden's J at the level a user sees; on a tie
 * the higher one (a false group may make someone delete a photo that was not a copy). It replaced a first
 * rule, "keep >= 99 % of variants and group <= 1 % of images, midpoint of the two bounds", after a 16-image
 * pilot met neither bound: Caltech-101's classes hold genuine near-duplicates under different file contents
 * (docs/insights.md), so no threshold below 1 groups under ~1 % of images. Both bounds are still reported.
 */
import { thresholdAtFalseAcceptRate } from '../../src/core/recognition-calibration.ts';
import { VARIANT_KINDS, type VariantKind } from './duplicate-variants.ts';

export const DUPLICATE_RULE = Object.freeze({
  /** The candidate thresholds. */
  grid: Object.freeze(Array.from({ length: 50 }, (_, i) => (50 + i) / 100)),
  /** The first rule's bounds, still reported. */
  keepVariants: 0.99,
  groupImages: 0.01,
});

export interface DuplicateEvidence {
  readonly variants: readonly { readonly kind: VariantKind; readonly score: number }[];
  /** Per image: its best cosine with a distinct image of its class. */
  readonly sameClassBest: readonly number[];
  /** Per image: its best cosine with an image of another class. */
  readonly otherClassBest: readonly number[];
  /** Every pair of distinct images of one class (reported, not used by the rule). */
  readonly sameClassPairs?: readonly number[];
}

export interface DuplicateChoice {
  readonly threshold: number;
  /** At the threshold: the share of variant pairs kept together. */
  readonly variantsKept: number;
  /** At the threshold: the share of images grouped with a distinct image of their class. */
  readonly imagesGrouped: number;
  /** The highest threshold keeping DUPLICATE_RULE.keepVariants of the variant pairs. */
  readonly keepBound: number;
  /** The lowest threshold grouping at most DUPLICATE_RULE.groupImages of the images. */
  readonly groupBound: number;
}

export function chooseDuplicateThreshold(e: DuplicateEvidence): DuplicateChoice {
  if (e.variants.length === 0 || e.sameClassBest.length === 0)
    throw new RangeError('chooseDuplicateThreshold: no scores');
  const variants = e.variants.map((v) => v.score);
  let best = { threshold: Number.NaN, j: -Infinity, variantsKept: 0, imagesGrouped: 0 };
  for (const t of DUPLICATE_RULE.grid) {
    const variantsKept = share(variants, t);
    const imagesGrouped = share(e.sameClassBest, t);
    const j = variantsKept - imagesGrouped;
    if (j >= best.j - 1e-12) best = { threshold: t, j, variantsKept, imagesGrouped };
  }
  const ascending = [...variants].sort((a, b) => a - b);
  // Up to `miss` variant pairs may fall under the bound; the bound is the next score up.
  const miss = Math.floor((1 - DUPLICATE_RULE.keepVariants) * ascending.length + 1e-9);
  return {
    threshold: best.threshold,
    variantsKept: best.variantsKept,
    imagesGrouped: best.imagesGrouped,
    keepBound: ascending[miss]!,
    groupBound: thresholdAtFalseAcceptRate(e.sameClassBest, DUPLICATE_RULE.groupImages),
  };
}

const share = (xs: readonly number[], t: number) => xs.filter((x) => x >= t).length / xs.length;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * One row per threshold: the share of each kind of variant kept, of images grouped with a distinct image of their
 * class, of same-class pairs grouped, and of images grouped with one of another class.
 */
export function evidenceTable(e: DuplicateEvidence, thresholds: readonly number[]): string {
  const kinds = VARIANT_KINDS.filter((k) => e.variants.some((v) => v.kind === k));
  const byKind = new Map(kinds.map((k) => [k, e.variants.filter((v) => v.kind === k).map((v) => v.score)]));
  const all = e.variants.map((v) => v.score);
  const pairs = e.sameClassPairs ?? [];
  const head = [
    'threshold',
    ...kinds,
    'all variants',
    'images grouped (same class)',
    ...(pairs.length > 0 ? ['same-class pairs'] : []),
    'images grouped (other class)',
  ];
  const rows = thresholds.map((t) => [
    t.toFixed(2),
    ...kinds.map((k) => pct(share(byKind.get(k)!, t))),
    pct(share(all, t)),
    pct(share(e.sameClassBest, t)),
    ...(pairs.length > 0 ? [pct(share(pairs, t))] : []),
    pct(share(e.otherClassBest, t)),
  ]);
  return markdownTable(head, rows);
}

/** Minimum, percentiles and maximum of each list of cosines. */
export function distributionTable(e: DuplicateEvidence): string {
  const lists: [string, number[]][] = [
    ...VARIANT_KINDS.map((k): [string, number[]] => [
      `variant: ${k}`,
      e.variants.filter((v) => v.kind === k).map((v) => v.score),
    ]),
    ['variant: all', e.variants.map((v) => v.score)],
    ['best distinct same-class', [...e.sameClassBest]],
    ['best other-class', [...e.otherClassBest]],
  ];
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const rows = lists
    .filter(([, xs]) => xs.length > 0)
    .map(([name, xs]) => {
      const s = [...xs].sort((a, b) => a - b);
      return [
        name,
        String(s.length),
        ...[0, 0.01, 0.05, 0.5, 0.95, 0.99].map((q) => at(s, q).toFixed(4)),
        s.at(-1)!.toFixed(4),
      ];
    });
  return markdownTable(['cosine', 'n', 'min', '1%', '5%', 'median', '95%', '99%', 'max'], rows);
}

function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((x, c) => x.padStart(widths[c]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)].join('\n');
}
