/**
 * The N x N cosine-similarity matrix of the embedded images as a heatmap. Large sets are shown a block of
 * BLOCK x BLOCK at a time (row and column blocks chosen separately), so the page stays light at 1,000 images.
 * Hover or keyboard focus shows the pair and the value; a click or Enter shows the two images side by side.
 * A colour key beside it reads a colour back as a cosine.
 * Test hooks: data-testid="similarity-matrix", "matrix-legend"; cells carry data-i, data-j (card order) and data-value.
 */
import { safeCosine } from '../core/similarity.ts';
import { formatScore, h, scoreColour } from './dom.ts';
import type { Card, Session } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

export const BLOCK = 24;

const LEGEND_TICKS = [-1, -0.5, 0, 0.5, 1];

/** The colour scale, -1 to 1, sampled finely enough that the squared ramp of scoreColour reads true. */
export function matrixLegend(): HTMLElement {
  const stops = Array.from({ length: 41 }, (_, i) => scoreColour(-1 + i / 20));
  const bar = h('div', { class: 'legend-bar' });
  bar.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  const ticks = h(
    'div',
    { class: 'legend-ticks' },
    ...LEGEND_TICKS.map((v) => {
      const tick = h('span', { text: v === 0 ? '0' : v.toFixed(v % 1 ? 1 : 0).replace('-', '−') });
      tick.style.left = `${((v + 1) / 2) * 100}%`;
      return tick;
    }),
  );
  return h(
    'div',
    {
      class: 'matrix-legend',
      'data-testid': 'matrix-legend',
      role: 'img',
      'aria-label':
        'Colour key: blue for cosine −1 (opposite), white for 0 (unrelated), deep red for 1 (the same direction)',
    },
    h('span', { class: 'legend-title', 'aria-hidden': 'true', text: 'cosine' }),
    h('div', { class: 'legend-scale', 'aria-hidden': 'true' }, bar, ticks),
  );
}

export class SimilarityView {
  private readonly grid = h('div', {
    'data-testid': 'similarity-matrix',
    role: 'grid',
    tabindex: 0,
    class: 'matrix',
    'aria-label': 'Cosine similarity matrix',
  });
  private readonly tooltip = h('div', { class: 'matrix-tooltip', role: 'status', 'data-testid': 'matrix-tooltip' });
  private readonly rowBlock = h('select', { 'aria-label': 'Rows shown' });
  private readonly colBlock = h('select', { 'aria-label': 'Columns shown' });
  private readonly blocks = h(
    'div',
    { class: 'row matrix-blocks' },
    h('label', {}, 'Rows ', this.rowBlock),
    h('label', {}, 'Columns ', this.colBlock),
  );
  private readonly empty = h('p', { class: 'hint', text: 'Embed two or more images to compare them.' });
  private readonly legend = matrixLegend();
  private readonly compare: HTMLDialogElement;
  private cards: Card[] = [];
  private active: [number, number] = [0, 0];
  private pending = 0;

  constructor(
    root: HTMLElement,
    private readonly session: Session,
    private readonly thumbs: ThumbnailUrls,
  ) {
    this.compare = h('dialog', {
      class: 'compare',
      'data-testid': 'compare-dialog',
      'aria-label': 'Two images compared',
    });
    root.append(
      this.empty,
      h('div', { class: 'row matrix-controls' }, this.blocks, this.legend),
      h('div', { class: 'matrix-wrap' }, this.grid),
      this.tooltip,
      this.compare,
    );
    this.rowBlock.addEventListener('change', () => this.draw());
    this.colBlock.addEventListener('change', () => this.draw());
    this.grid.addEventListener('pointerover', (e) => this.hover(e.target));
    this.grid.addEventListener('focusin', () => this.hover(this.cell(...this.active)));
    this.grid.addEventListener('click', (e) => this.open(e.target));
    this.grid.addEventListener('keydown', (e) => this.key(e));
    session.subscribe((e) => {
      if (e.type === 'cleared' || e.type === 'removed') {
        // The pair under the pointer and the compared pair may be gone with their cards.
        this.tooltip.textContent = '';
        if (this.compare.open) this.compare.close();
      }
      if (e.type !== 'selected') this.schedule();
    });
    this.draw();
  }

  /** Redraws at most a few times a second while a long batch streams in. */
  schedule(): void {
    if (this.pending) return;
    this.pending = window.setTimeout(() => {
      this.pending = 0;
      this.draw();
    }, 150);
  }

  private fillBlocks(select: HTMLSelectElement, n: number): void {
    const count = Math.ceil(n / BLOCK);
    const keep = Math.min(Number(select.value) || 0, Math.max(0, count - 1));
    select.replaceChildren(
      ...Array.from({ length: count }, (_, b) =>
        h('option', { value: b, text: `${b * BLOCK + 1}–${Math.min(n, (b + 1) * BLOCK)}` }),
      ),
    );
    select.value = String(keep);
  }

  draw(): void {
    this.cards = this.session.done();
    const n = this.cards.length;
    this.empty.hidden = n >= 2;
    this.blocks.hidden = n <= BLOCK;
    this.fillBlocks(this.rowBlock, n);
    this.fillBlocks(this.colBlock, n);
    const r0 = Number(this.rowBlock.value) * BLOCK;
    const c0 = Number(this.colBlock.value) * BLOCK;
    const rows = this.cards.slice(r0, r0 + BLOCK);
    const cols = this.cards.slice(c0, c0 + BLOCK);
    this.grid.hidden = n < 2;
    this.legend.hidden = n < 2;
    this.grid.style.setProperty('--cols', String(cols.length));
    this.grid.classList.toggle('with-values', cols.length <= 8);
    const head = h(
      'div',
      { role: 'row', class: 'matrix-row' },
      h('span', { class: 'matrix-corner' }),
      ...cols.map((c) => this.header(c, 'columnheader')),
    );
    const body = rows.map((a, i) =>
      h(
        'div',
        { role: 'row', class: 'matrix-row' },
        this.header(a, 'rowheader'),
        ...cols.map((b, j) => this.cellFor(a, b, r0 + i, c0 + j)),
      ),
    );
    this.grid.replaceChildren(head, ...body);
    // Keep the keyboard cursor inside the block (and at 0, 0 while the matrix is empty).
    this.active = [
      Math.max(0, Math.min(this.active[0], rows.length - 1)),
      Math.max(0, Math.min(this.active[1], cols.length - 1)),
    ];
  }

  private header(card: Card, role: string): HTMLElement {
    return h(
      'span',
      { role, class: 'matrix-head', title: card.name },
      h('img', { src: this.thumbs.get(card.file), alt: card.name, loading: 'lazy' }),
    );
  }

  private cellFor(a: Card, b: Card, i: number, j: number): HTMLElement {
    const v = safeCosine(a.embedding!, b.embedding!);
    const cell = h('span', {
      role: 'gridcell',
      class: 'matrix-cell',
      id: `m-${i}-${j}`,
      'data-i': a.index,
      'data-j': b.index,
      'data-value': v.toFixed(6),
      'data-r': i,
      'data-c': j,
      'aria-label': `${a.name} and ${b.name}: ${formatScore(v)}`,
    });
    cell.style.background = scoreColour(v);
    cell.textContent = formatScore(v);
    return cell;
  }

  private cell(r: number, c: number): HTMLElement | null {
    const rows = this.grid.querySelectorAll<HTMLElement>('.matrix-row');
    return rows[r + 1]?.querySelectorAll<HTMLElement>('.matrix-cell')[c] ?? null;
  }

  private pair(el: HTMLElement): [Card, Card, number] | undefined {
    const a = this.session.card(Number(el.dataset.i));
    const b = this.session.card(Number(el.dataset.j));
    return a && b ? [a, b, Number(el.dataset.value)] : undefined;
  }

  private hover(target: EventTarget | null): void {
    const el = (target as HTMLElement | null)?.closest<HTMLElement>('.matrix-cell');
    const p = el && this.pair(el);
    if (!el || !p) return;
    this.grid.querySelector('.matrix-cell.active')?.classList.remove('active');
    el.classList.add('active');
    this.grid.setAttribute('aria-activedescendant', el.id);
    this.tooltip.textContent = `${p[0].name} × ${p[1].name}: ${formatScore(p[2])}`;
  }

  private key(e: KeyboardEvent): void {
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    const m = moves[e.key];
    if (m) {
      e.preventDefault();
      const rows = this.grid.querySelectorAll('.matrix-row').length - 1;
      const cols = Number(this.grid.style.getPropertyValue('--cols'));
      this.active = [
        Math.max(0, Math.min(rows - 1, this.active[0] + m[0])),
        Math.max(0, Math.min(cols - 1, this.active[1] + m[1])),
      ];
      this.hover(this.cell(...this.active));
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.open(this.cell(...this.active));
    }
  }

  private open(target: EventTarget | null): void {
    const el = (target as HTMLElement | null)?.closest<HTMLElement>('.matrix-cell');
    const p = el && this.pair(el);
    if (!el || !p) return;
    this.active = [
      Number(el.dataset.r) - Number(this.rowBlock.value) * BLOCK,
      Number(el.dataset.c) - Number(this.colBlock.value) * BLOCK,
    ];
    const figure = (c: Card) =>
      h('figure', {}, h('img', { src: this.thumbs.get(c.file), alt: c.name }), h('figcaption', { text: c.name }));
    const close = h('button', { type: 'button', text: 'Close', 'data-testid': 'compare-close' });
    close.addEventListener('click', () => this.compare.close());
    this.compare.replaceChildren(
      h('h3', { text: `Cosine similarity ${formatScore(p[2])}` }),
      h('div', { class: 'compare-pair' }, figure(p[0]), figure(p[1])),
      close,
    );
    this.compare.showModal();
    close.focus();
  }
}
