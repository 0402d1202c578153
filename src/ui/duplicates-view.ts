/**
 * Near-duplicates among this visit's images (core/near-duplicates.ts: every pair's cosine, groups linked at
 * the threshold), computed off the page's thread. Each group is shown side by side. "Keep this one" marks one
 * member to keep and the others to remove; "remove the others" then takes those off the page (and, on the
 * page, their gallery entries out of the gallery), one group or every marked group at once. The export (JSON /
 * CSV) lists the groups with those choices, removed ones included: the page cannot delete your files, so the
 * export is the list to act on.
 * Test hooks: data-testid="duplicate-group" per group (data-min-score, data-max-score) holding one element
 * with data-name (and data-decision) per member; data-testid="duplicates" with data-state, data-groups and
 * data-removed (images taken off so far).
 */
import { DEFAULT_DUPLICATE_THRESHOLD } from '../core/near-duplicates.ts';
import { download, h } from './dom.ts';
import {
  galleryEntriesLeaving,
  galleryHolders,
  groupElement,
  isChain,
  membersKey,
  type ShownGroup,
} from './duplicates-group.ts';
import { duplicatesToCsv, duplicatesToJson, type DuplicateGroupChoice } from './duplicates-export.ts';
import type { InsightsCompute } from './report-compute.ts';
import { SettledRuns } from './report-schedule.ts';
import type { Session } from './session.ts';
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
    'data-removed': 0,
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
  private groups: ShownGroup[] = [];
  /** Groups whose others were removed, for the export: they are no longer found once the copies are gone. */
  private settled: DuplicateGroupChoice[] = [];
  /** What the last removal did, shown until the next one. */
  private said = '';
  private readonly keepFirst = h('button', {
    type: 'button',
    text: 'Keep the first of each group',
    title:
      'Marks the first dropped image of every group without a choice as the one to keep; chains (groups whose members are not all copies of each other) are left to you',
    'data-testid': 'duplicates-keep-first',
  });
  private readonly removeMarked = h('button', { type: 'button', 'data-testid': 'duplicates-remove-marked' });
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
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-keep], button[data-remove]');
      if (button?.dataset.keep !== undefined) this.keep(Number(button.dataset.group), Number(button.dataset.keep));
      else if (button) this.removeOthers([Number(button.dataset.remove)]);
    });
    this.keepFirst.addEventListener('click', () => this.keepFirstOfEach());
    this.removeMarked.addEventListener('click', () =>
      this.removeOthers(this.groups.flatMap((g, i) => (g.keep === undefined ? [] : [i]))),
    );
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
      h('div', { class: 'row' }, this.keepFirst, this.removeMarked),
      this.status,
      this.box,
    );
    this.box.append(this.list);
    session.subscribe((e) => {
      if (e.type === 'cleared') {
        this.settled = [];
        this.said = '';
      }
      if (e.type !== 'selected') this.changed();
    });
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
      // A choice survives a new search of the same group (the same cards), as the card it names.
      const kept = new Map(
        this.groups.flatMap((g) => (g.keep === undefined ? [] : [[membersKey(g.cards), g.cards[g.keep]!] as const])),
      );
      this.groups = found.map((g) => {
        // Members in drop order (the ids are card indices): the first dropped usually is the original.
        const members = g.ids.map((id) => byIndex.get(id)!).sort((a, b) => a.index - b.index);
        const names = members.map((c) => c.name);
        const keep = kept.get(membersKey(members));
        return {
          names,
          cards: members,
          minScore: g.minScore,
          maxScore: g.maxScore,
          ...(keep ? { keep: members.indexOf(keep) } : {}),
        };
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

  private keep(group: number, member: number): void {
    const g = this.groups[group];
    if (!g) return;
    const { keep, ...rest } = g;
    this.groups[group] = keep === member ? rest : { ...rest, keep: member };
    this.render();
  }

  private keepFirstOfEach(): void {
    // Members are in drop order: the first dropped usually is the original.
    this.groups = this.groups.map((g) =>
      g.keep === undefined && !isChain(g, this.computedAt) ? { ...g, keep: 0 } : g,
    );
    this.render();
  }

  /** Takes the marked others of these groups off the page; the session's event starts a new search. */
  private removeOthers(groupIndices: readonly number[]): void {
    const acted = groupIndices.flatMap((i) => {
      const g = this.groups[i];
      return g?.keep === undefined ? [] : [g];
    });
    const cards = acted.flatMap((g) => g.cards.filter((_, m) => m !== g.keep));
    if (cards.length === 0) return;
    this.settled.push(...acted.map(({ cards: _, ...g }) => ({ ...g, removed: true })));
    const inGallery = galleryEntriesLeaving(cards, galleryHolders(this.session.cards)).length;
    this.groups = this.groups.filter((g) => !acted.includes(g));
    this.session.remove(cards);
    this.said =
      `Removed ${cards.length} image${cards.length === 1 ? '' : 's'} from the page` +
      (inGallery ? ` and ${inGallery} from the gallery` : '') +
      '; your files are untouched, and the export still lists them.';
    this.render();
  }

  private render(): void {
    const n = this.rows.length;
    const inGroups = this.groups.reduce((s, g) => s + g.names.length, 0);
    const chosen = this.groups.filter((g) => g.keep !== undefined).length;
    this.status.textContent =
      n < 2
        ? 'Near-duplicates show here once two or more images are embedded.'
        : this.groups.length === 0
          ? `No near-duplicates among ${n} images at cosine ${this.computedAt}.`
          : `${this.groups.length} group${this.groups.length === 1 ? '' : 's'} of near-duplicates among ${n} images (${inGroups} images in them)` +
            (chosen > 0
              ? `; one kept in ${chosen}: remove the others here, or export the list.`
              : '. Keep one of each, then remove the others.');
    const chains = this.groups.filter((g) => g.keep === undefined && isChain(g, this.computedAt)).length;
    if (chains > 0)
      this.status.textContent += ` ${chains} ${chains === 1 ? 'is a chain' : 'are chains'} of look-alikes rather than copies of one picture: "keep the first" leaves ${chains === 1 ? 'it' : 'them'} to you.`;
    if (this.said) this.status.textContent = `${this.said} ${this.status.textContent}`;
    const marked = this.groups.reduce((s, g) => s + (g.keep === undefined ? 0 : g.names.length - 1), 0);
    this.removeMarked.textContent = `Remove the ${marked} marked`;
    this.removeMarked.disabled = marked === 0;
    this.keepFirst.disabled = this.groups.every((g) => g.keep !== undefined || isChain(g, this.computedAt));
    const holders = galleryHolders(this.session.cards);
    this.list.replaceChildren(
      ...this.groups.slice(0, GROUPS_SHOWN).map((g, i) => groupElement(g, i, this.thumbs, this.computedAt, holders)),
    );
    if (this.groups.length > GROUPS_SHOWN) {
      this.list.append(
        h('li', { class: 'hint', text: `${this.groups.length - GROUPS_SHOWN} more groups are in the export.` }),
      );
    }
    this.box.dataset.groups = String(this.groups.length);
    this.box.dataset.removed = String(this.settled.reduce((s, g) => s + g.names.length - 1, 0));
    if (!this.runs.due) this.box.dataset.state = 'ready';
  }

  private export(kind: 'json' | 'csv'): void {
    const threshold = this.computedAt;
    // Removed groups first (their copies are gone from the page), then what is found now.
    const groups = [...this.settled, ...this.groups];
    if (kind === 'json') download('near-duplicates.json', duplicatesToJson(groups, threshold), 'application/json');
    else download('near-duplicates.csv', duplicatesToCsv(groups), 'text/csv');
  }
}
