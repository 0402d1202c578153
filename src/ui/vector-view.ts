/**
 * The selected image's embedding: its D values as a bar plot (index on x, value on y, positive red,
 * negative blue), with norm, min and max, and a button that copies the vector as a JSON array.
 */
import { h } from './dom.ts';
import type { Card } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

export interface VectorStats {
  readonly dim: number;
  readonly norm: number;
  readonly min: number;
  readonly max: number;
}

export function vectorStats(v: ArrayLike<number>): VectorStats {
  let sq = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    sq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { dim: v.length, norm: Math.sqrt(sq), min, max };
}

export class VectorView {
  private readonly canvas = h('canvas', { width: 1024, height: 160, 'data-testid': 'vector-plot', role: 'img' });
  private readonly stats = h('p', { class: 'vector-stats', 'data-testid': 'vector-stats' });
  private readonly copy = h('button', { type: 'button', 'data-testid': 'copy-vector', text: 'Copy vector' });
  private readonly note = h('span', { class: 'copy-note', role: 'status' });
  private readonly preview = h('img', { alt: '', class: 'selected-preview' });
  private readonly title = h('p', { class: 'selected-name' });
  private current: Card | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly thumbs: ThumbnailUrls,
  ) {
    this.copy.addEventListener('click', () => void this.copyVector());
    root.append(
      h('div', { class: 'selected-head' }, this.preview, this.title),
      this.canvas,
      this.stats,
      h('div', { class: 'row' }, this.copy, this.note),
    );
    this.show(undefined);
  }

  show(card: Card | undefined): void {
    this.current = card;
    this.note.textContent = '';
    this.root.hidden = !card;
    if (!card) return;
    this.preview.src = this.thumbs.get(card.file);
    // The folder is in the name; a label is added only where it says something else (set by hand).
    const folder = card.name.includes('/') ? card.name.slice(0, card.name.lastIndexOf('/')) : '';
    this.title.textContent = card.name + (card.label && card.label !== folder ? ` · label ${card.label}` : '');
    const ctx = this.canvas.getContext('2d')!;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const v = card.embedding;
    this.copy.disabled = !v;
    if (!v) {
      this.stats.textContent = card.status === 'error' ? `No vector: ${card.error ?? 'error'}` : 'Not embedded yet.';
      this.canvas.setAttribute('aria-label', 'no vector yet');
      return;
    }
    const s = vectorStats(v);
    this.stats.textContent = `${s.dim} values · norm ${s.norm.toFixed(4)} · min ${s.min.toFixed(4)} · max ${s.max.toFixed(4)}`;
    this.canvas.setAttribute('aria-label', `bar plot of the ${s.dim} embedding values; ${this.stats.textContent}`);
    this.draw(ctx, v, Math.max(Math.abs(s.min), Math.abs(s.max)) || 1);
  }

  private draw(ctx: CanvasRenderingContext2D, v: Float32Array, range: number): void {
    const { width, height } = this.canvas;
    const mid = height / 2;
    const barW = width / v.length;
    ctx.fillStyle = '#d9dde3';
    ctx.fillRect(0, mid, width, 1);
    for (let i = 0; i < v.length; i++) {
      const y = (v[i]! / range) * (mid - 4);
      ctx.fillStyle = y >= 0 ? '#c2412d' : '#2d63c2';
      ctx.fillRect(i * barW, y >= 0 ? mid - y : mid, Math.max(1, barW - 0.5), Math.max(1, Math.abs(y)));
    }
  }

  private async copyVector(): Promise<void> {
    const v = this.current?.embedding;
    if (!v) return;
    try {
      await navigator.clipboard.writeText(JSON.stringify(Array.from(v)));
      this.note.textContent = `Copied ${v.length} values.`;
    } catch (e) {
      this.note.textContent = `Could not copy: ${(e as Error).message}`;
    }
  }
}
