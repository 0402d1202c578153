/** A small element factory and the page's shared formatting, so views read as markup. */

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

export function formatScore(v: number): string {
  return v.toFixed(3);
}

/** Cosine -1..1 to a colour: blue for dissimilar through near-white to deep red for identical. */
export function scoreColour(v: number): string {
  if (Number.isNaN(v)) return '#e5e7eb';
  const t = Math.max(-1, Math.min(1, v));
  // Squared, so the unrelated-image range (about 0.2 to 0.6 with these models) stays pale and near
  // duplicates stand out.
  if (t >= 0) return `hsl(8 78% ${Math.round(97 - t * t * 55)}%)`;
  return `hsl(215 70% ${Math.round(97 - t * t * 45)}%)`;
}

/** Saves text or bytes as a file through a temporary link; nothing leaves the machine. */
export function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** PP-LCNet scales as PaddleClas names them: x1.0, x0.25, x2.5. */
export function formatScale(scale: number): string {
  return `x${Number.isInteger(scale) ? scale.toFixed(1) : String(scale)}`;
}
