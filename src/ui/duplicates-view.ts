/**
 * Near-duplicates among this visit's images (core/near-duplicates.ts: every pair's cosine, groups linked at
 * the threshold), computed off the page's thread. Each group is shown side by side; "keep" marks one member
 * to keep and the others to remove, and the export (JSON / CSV) lists the groups with those choices: the page
 * cannot delete your files, so the export is the list to act on.
 * Test hooks: data-testid="duplicate-group" per group (data-min-score, data-max-score) holding one element
 * with data-name (and data-decision) per member; data-testid="duplicates" with data-state and data-groups.
 */
import { DEFAULT_DUPLICATE_THRESHOLD } from '../core/near-duplicates.ts';
import { download, formatScore, h } from './dom.ts';
import { decision, duplicatesToCsv, duplicatesToJson, type DuplicateGroupChoice } from './duplicates-export.ts';
import type { InsightsCompute } from './report-compute.ts';
import { SettledRuns } from './report-schedule.ts';
import type { Card, Session } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

const SETTLE_MS = 300;
/** O(N²): while images keep arriving, search again at most this often. */
const MAX_WAIT_MS = 5000;
const GROUPS_SHOWN = 100;

export class DuplicatesView {
  private readonly box = h('div', {
    class: 'duplicates',
    'data-testid': 'duplicates',
    'data-state': 'ready',
    'data-groups': 0,
  });
  private readonly list = h('ol', { class: 'duplicate-groups' });
  private readonly status = h('p', { role: 'status', 'data-testid': 'duplicates-status' });
  private readonly threshold = h('input', {
    type: 'number',
    min: 0.5,
    max: 1,
    step: 0.01,
    value: DEFAULT_DUPLICATE_THRESHOLD,
    id: 'duplicate-threshold',
    class: 'narrow',
    'data-testid': 'duplicate-threshold',
  });
  private groups: (DuplicateGroupChoice & { cards: Card[] })[] = [];
  private rows: Float32Array[] = [];
  private computedAt = Number.NaN;
  private generation = 0;
  private readonly runs = new SettledRuns(() => this.search(), SETTLE_MS, MAX_WAIT_MS);

  constructor(
    root: HTMLElement,
    private readonly session: Session,
    private readonly thumbs: ThumbnailUrls,
    private readonly compute: InsightsCompute,
  ) {
    this.threshold.addEventListener('change', () => this.changed());
    const json = h('button', { type: 'button', text: 'JSON', 'data-testid': 'duplicates-export-json' });
    const csv = h('button', { type: 'button', text: 'CSV', 'data-testid': 'duplicates-export-csv' });
    json.addEventListener('click', () => this.export('json'));
    csv.addEventListener('click', () => this.export('csv'));
    this.list.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-keep]');
      if (button) this.keep(Number(button.dataset.group), button.dataset.keep!);
    });
    root.append(
      h(
        'div',
        { class: 'row' },
        h('label', { for: 'duplicate-threshold', text: 'Same picture from cosine' }),
        this.threshold,
        h('span', { class: 'spacer' }),
        h('span', { class: 'export' }, 'Export the groups ', json, csv),
      ),
      h(
        'p',
        { class: 'hint', 'data-testid': 'duplicates-evidence' },
        `${DEFAULT_DUPLICATE_THRESHOLD} was chosen for the default model on Caltech-101 training images: it keeps 93 % of copies together (re-encoded 100 %, cropped or brightened 99.7 %, downscaled 92 %, all four at once 75 %) and groups no image with one of another class, but 11 % with a look-alike of their own class; 0.92 gives fewer, surer groups. Method and table: docs/insights.md (npm run duplicate-threshold). Another model needs its own run.`,
      ),
      this.status,
      this.box,
    );
    this.box.append(this.list);
    session.subscribe((e) => (e.type === 'selected' ? undefined : this.changed()));
    this.render();
    if (session.done().length > 1) this.changed();
  }

  private changed(): void {
    this.box.dataset.state = 'computing';
    this.runs.changed();
  }

  private async search(): Promise<void> {
    const cards = this.session.done();
    const threshold = Number(this.threshold.value);
    if (!(threshold >= -1 && threshold <= 1)) {
      this.status.textContent = 'The threshold is a cosine similarity, at most 1.';
      this.box.dataset.state = 'ready';
      return;
    }
    const same =
      threshold === this.computedAt &&
      cards.length === this.rows.length &&
      cards.every((c, i) => c.embedding === this.rows[i]);
    if (same) return this.render();
    const generation = ++this.generation;
    this.rows = cards.map((c) => c.embedding!);
    this.computedAt = threshold;
    this.status.textContent = cards.length > 1 ? `Comparing every pair of ${cards.length} images…` : '';
    try {
      const found = await this.compute.duplicates(
        cards.map((c) => ({ id: String(c.index), embedding: c.embedding! })),
        threshold,
      );
      if (generation !== this.generation) return;
      const byIndex = new Map(cards.map((c) => [String(c.index), c]));
      const kept = new Map(this.groups.filter((g) => g.keep).map((g) => [g.names.join('\n'), g.keep!]));
      this.groups = found.map((g) => {
        // Members in drop order (the ids are card indices): the first dropped usually is the original.
        const members = g.ids.map((id) => byIndex.get(id)!).sort((a, b) => a.index - b.index);
        const names = members.map((c) => c.name);
        const keep = kept.get(names.join('\n'));
        return { names, cards: members, minScore: g.minScore, maxScore: g.maxScore, ...(keep ? { keep } : {}) };
      });
      // Largest first (as found), then in drop order rather than by the ids' text.
      this.groups.sort((a, b) => b.cards.length - a.cards.length || a.cards[0]!.index - b.cards[0]!.index);
    } catch (e) {
      if (generation === this.generation)
        this.status.textContent = `Could not compare the images: ${(e as Error).message}`;
      return;
    }
    this.render();
  }

  private keep(group: number, name: string): void {
    const g = this.groups[group];
    if (!g) return;
    this.groups[group] = { ...g, keep: g.keep === name ? undefined : name };
    this.render();
  }

  private render(): void {
    const n = this.rows.length;
    const inGroups = this.groups.reduce((s, g) => s + g.names.length, 0);
    const chosen = this.groups.filter((g) => g.keep).length;
    this.status.textContent =
      n < 2
        ? 'Near-duplicates show here once two or more images are embedded.'
        : this.groups.length === 0
          ? `No near-duplicates among ${n} images at cosine ${this.computedAt}.`
          : `${this.groups.length} group${this.groups.length === 1 ? '' : 's'} of near-duplicates among ${n} images (${inGroups} images in them)` +
            (chosen > 0
              ? `; one kept in ${chosen}: the export lists the others to remove.`
              : '. Keep one of each to list the others for removal.');
    this.list.replaceChildren(...this.groups.slice(0, GROUPS_SHOWN).map((g, i) => this.group(g, i)));
    if (this.groups.length > GROUPS_SHOWN) {
      this.list.append(
        h('li', { class: 'hint', text: `${this.groups.length - GROUPS_SHOWN} more groups are in the export.` }),
      );
    }
    this.box.dataset.groups = String(this.groups.length);
    if (!this.runs.due) this.box.dataset.state = 'ready';
  }

  private group(g: DuplicateGroupChoice & { cards: Card[] }, i: number): HTMLElement {
    const score =
      g.minScore === g.maxScore ? formatScore(g.minScore) : `${formatScore(g.minScore)} to ${formatScore(g.maxScore)}`;
    return h(
      'li',
      {
        class: 'duplicate-group',
        'data-testid': 'duplicate-group',
        'data-min-score': g.minScore,
        'data-max-score': g.maxScore,
      },
      h('p', { class: 'hint', text: `${g.names.length} images, cosine ${score}` }),
      h(
        'div',
        { class: 'duplicate-members' },
        ...g.cards.map((c) => {
          const d = decision(g, c.name);
          return h(
            'figure',
            { 'data-name': c.name, 'data-decision': d, class: d ? `member ${d}` : 'member' },
            h('img', { src: this.thumbs.get(c.file), alt: '', loading: 'lazy', decoding: 'async' }),
            h('figcaption', { title: c.name, text: c.name }),
            h('button', {
              type: 'button',
              class: 'link',
              'data-group': i,
              'data-keep': c.name,
              text: d === 'keep' ? 'kept (undo)' : d === 'remove' ? 'to remove: keep this instead' : 'keep this one',
            }),
          );
        }),
      ),
    );
  }

  private export(kind: 'json' | 'csv'): void {
    const threshold = this.computedAt;
    if (kind === 'json') download('near-duplicates.json', duplicatesToJson(this.groups, threshold), 'application/json');
    else download('near-duplicates.csv', duplicatesToCsv(this.groups), 'text/csv');
  }
}
