/**
 * The report's score histogram: each query's best same-class score and its best other-class score, as two
 * overlaid distributions (shares of the queries, so classes of any size compare), with the threshold in use
 * and the suggested one marked. Where they overlap no threshold separates right matches from unknown objects.
 */
import type { ScoreHistograms } from '../core/gallery-report.ts';
import { CHART_GRID, CHART_INK, CHART_MUTED, chartFrame, svg } from './report-svg.ts';

const W = 560;
const H = 200;
const LEFT = 36;
const RIGHT = 12;
const TOP = 28;
const BOTTOM = 30;
export const SAME_COLOUR = '#15803d';
export const OTHER_COLOUR = '#c2410c';

export function scoreHistogram(
  scores: ScoreHistograms,
  marks: { readonly threshold?: number; readonly suggested: number },
): SVGSVGElement {
  const bins = scores.sameClass.length;
  const edges = scores.binEdges;
  const total = (c: readonly number[]) => c.reduce((s, v) => s + v, 0) || 1;
  const shares = [scores.sameClass, scores.differentClass].map((c) => c.map((v) => v / total(c)));
  // From the first non-empty bin (or the marks) to 1: scores below about 0 are rare with these models.
  const used = (i: number) => scores.sameClass[i]! + scores.differentClass[i]! > 0;
  let first = 0;
  while (first < bins - 1 && !used(first)) first++;
  const lowMark = Math.min(marks.suggested, marks.threshold ?? 1);
  while (first > 0 && edges[first]! > lowMark) first--;
  const lo = edges[first]!;
  const x = (v: number) => LEFT + ((v - lo) / (1 - lo)) * (W - LEFT - RIGHT);
  const top = Math.max(...shares.flat(), 0.01);
  const y = (share: number) => H - BOTTOM - (share / top) * (H - TOP - BOTTOM);
  const chart = chartFrame(W, H, 'Best same-class and best other-class scores of every gallery image');
  for (let t = Math.ceil(lo * 10) / 10; t <= 1 + 1e-9; t += 0.1) {
    chart.append(
      svg('line', { x1: x(t), x2: x(t), y1: TOP, y2: H - BOTTOM, stroke: CHART_GRID }),
      svg(
        'text',
        { x: x(t), y: H - BOTTOM + 14, 'text-anchor': 'middle', 'font-size': 10, fill: CHART_MUTED },
        t.toFixed(1),
      ),
    );
  }
  chart.append(
    svg(
      'text',
      { x: W - RIGHT, y: H - 4, 'text-anchor': 'end', 'font-size': 10, fill: CHART_MUTED },
      'cosine of the best match',
    ),
  );
  [SAME_COLOUR, OTHER_COLOUR].forEach((colour, s) => {
    for (let i = first; i < bins; i++) {
      const share = shares[s]![i]!;
      if (share === 0) continue;
      chart.append(
        svg('rect', {
          x: x(edges[i]!) + 1,
          width: Math.max(1, x(edges[i + 1]!) - x(edges[i]!) - 2),
          y: y(share),
          height: H - BOTTOM - y(share),
          fill: colour,
          'fill-opacity': 0.55,
        }),
      );
    }
  });
  const mark = (v: number, text: string, dash: string, row: number) =>
    chart.append(
      svg('line', {
        x1: x(v),
        x2: x(v),
        y1: TOP - 4,
        y2: H - BOTTOM,
        stroke: CHART_INK,
        'stroke-width': 2,
        'stroke-dasharray': dash,
      }),
      svg('text', { x: x(v), y: 10 + row * 11, 'text-anchor': 'middle', 'font-size': 10, fill: CHART_INK }, text),
    );
  if (marks.threshold !== undefined) mark(marks.threshold, `yours ${marks.threshold.toFixed(2)}`, '', 0);
  mark(marks.suggested, `suggested ${marks.suggested.toFixed(2)}`, '5 3', 1);
  return chart;
}
