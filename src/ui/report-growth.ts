/**
 * "How many images does a class need": each class's expected recall@1 against how many of its images the
 * gallery holds (core/gallery-report.ts draws every sub-gallery of that size), one faint line per class and
 * their mean in bold, on a log scale of gallery images.
 */
import type { ClassGrowth } from '../core/gallery-report.ts';
import { CHART_GRID, CHART_INK, CHART_MUTED, chartFrame, svg } from './report-svg.ts';

const W = 560;
const H = 190;
const LEFT = 36;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 30;

/** Mean recall@1 over the classes that have at least `k` other images, for each size some class reaches. */
export function meanGrowth(
  growth: readonly ClassGrowth[],
): { galleryImages: number; recallAt1: number; classes: number }[] {
  const sizes = [...new Set(growth.flatMap((g) => g.points.map((p) => p.galleryImages)))].sort((a, b) => a - b);
  return sizes.flatMap((k) => {
    const at = growth.flatMap((g) => g.points.filter((p) => p.galleryImages === k).map((p) => p.recallAt1));
    // A size only the largest classes reach says little about the others: need half of the classes.
    if (at.length < Math.max(1, growth.length / 2)) return [];
    return [{ galleryImages: k, recallAt1: at.reduce((s, v) => s + v, 0) / at.length, classes: at.length }];
  });
}

export function growthChart(growth: readonly ClassGrowth[]): SVGSVGElement {
  const maxK = Math.max(2, ...growth.flatMap((g) => g.points.map((p) => p.galleryImages)));
  const x = (k: number) => LEFT + (Math.log(k) / Math.log(maxK)) * (W - LEFT - RIGHT);
  const y = (r: number) => TOP + (1 - r) * (H - TOP - BOTTOM);
  const chart = chartFrame(W, H, 'Recall@1 of each class against its number of gallery images');
  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(
      svg('line', { x1: LEFT, x2: W - RIGHT, y1: y(r), y2: y(r), stroke: CHART_GRID }),
      svg('text', { x: LEFT - 4, y: y(r) + 3, 'text-anchor': 'end', 'font-size': 10, fill: CHART_MUTED }, r.toFixed(2)),
    );
  }
  for (const k of [1, 2, 3, 5, 10, 20, 50, 100, 200, 500].filter((k) => k <= maxK)) {
    chart.append(
      svg(
        'text',
        { x: x(k), y: H - BOTTOM + 14, 'text-anchor': 'middle', 'font-size': 10, fill: CHART_MUTED },
        String(k),
      ),
    );
  }
  chart.append(
    svg(
      'text',
      { x: W - RIGHT, y: H - 4, 'text-anchor': 'end', 'font-size': 10, fill: CHART_MUTED },
      'gallery images of the class (log scale)',
    ),
  );
  const line = (
    points: readonly { galleryImages: number; recallAt1: number }[],
    attrs: Record<string, string | number>,
  ) =>
    svg('polyline', {
      points: points.map((p) => `${x(p.galleryImages).toFixed(1)},${y(p.recallAt1).toFixed(1)}`).join(' '),
      fill: 'none',
      ...attrs,
    });
  for (const g of growth) chart.append(line(g.points, { stroke: '#93a3b8', 'stroke-width': 1, 'stroke-opacity': 0.6 }));
  chart.append(line(meanGrowth(growth), { stroke: CHART_INK, 'stroke-width': 2.5 }));
  return chart;
}
