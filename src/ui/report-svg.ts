/** A small SVG factory for the report's charts (presentation attributes only: no inline styles, so a strict CSP is fine). */

const NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: (SVGElement | string | null | undefined)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

export const CHART_INK = '#1c2430';
export const CHART_MUTED = '#4b5563';
export const CHART_GRID = '#e5e7eb';

/** A fixed-size chart that scales with its box (viewBox), with a title for screen readers. */
export function chartFrame(width: number, height: number, title: string): SVGSVGElement {
  return svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, class: 'report-chart', role: 'img', 'aria-label': title },
    svg('title', {}, title),
  );
}
