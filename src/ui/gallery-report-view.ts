/**
 * The gallery report: how well the labelled gallery recognises itself (core/gallery-report.ts, every image a
 * leave-one-out query, as `npm run eval` scores a split): recall@1 and mAP overall and per class, the classes
 * most taken for each other, how recall grows with a class's images, and the score distributions with the
 * threshold in use and a suggested one. Computed off the page's thread (InsightsCompute), again whenever the
 * gallery, its labels, the threshold or the accepted share of unknown objects change.
 * A gallery past REPORT_SAMPLE_LIMIT images (an imported index) is reported on a fixed, class-stratified sample.
 * It is computed while shown only (data-state "stale" until then).
 * Test hooks: data-testid="gallery-report" with data-state, data-recall-at-1, data-map (absent while there is
 * nothing to report), data-suggested-threshold, data-images (reported on) and data-gallery-images (in all).
 */
import type { GalleryReportEntry, GalleryReportResult } from '../core/gallery-report.ts';
import { sampleForReport } from '../core/gallery-report-sample.ts';
import { h } from './dom.ts';
import { growthChart, meanGrowth } from './report-growth.ts';
import { OTHER_COLOUR, SAME_COLOUR, scoreHistogram } from './report-histogram.ts';
import type { InsightsCompute } from './report-compute.ts';
import { SettledRuns } from './report-schedule.ts';

export interface GalleryReportSource {
  /**
   * The labelled images to report on (the gallery's, for the model in use). `embedding` may be a getter: it is
   * read once, for the entries reported on only; an empty one leaves its entry out.
   */
  entries(): GalleryReportEntry[];
  /** The recognition threshold in use. */
  threshold(): number;
  /** Sets the recognition threshold (the "use suggested" button); absent: no button. */
  useThreshold?(value: number): void;
  /** An entry's name for the confusion examples (default: its id). */
  nameOf?(id: string): string;
}

const FALSE_ACCEPT_RATES = [0.01, 0.05, 0.1, 0.2] as const;
const SETTLE_MS = 300;
const CLASS_ROWS = 30;

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const fixed = (v: number) => v.toFixed(3);

export class GalleryReportView {
  private readonly box = h('div', { class: 'report', 'data-testid': 'gallery-report', 'data-state': 'empty' });
  private readonly far = h('select', { 'aria-label': 'Unknown objects accepted', 'data-testid': 'report-far' });
  private readonly status = h('p', { class: 'hint', role: 'status', 'data-testid': 'report-status' });
  private generation = 0;
  private signature = '';
  private shown = false;
  /** Something changed while the report was not shown. */
  private stale = true;
  private readonly runs = new SettledRuns(() => this.compose(), SETTLE_MS, 10 * SETTLE_MS);

  constructor(
    root: HTMLElement,
    private readonly compute: InsightsCompute,
    private readonly source: GalleryReportSource,
  ) {
    for (const r of FALSE_ACCEPT_RATES) this.far.append(h('option', { value: r, text: `${r * 100} %` }));
    this.far.value = '0.1';
    this.far.addEventListener('change', () => this.refresh());
    this.status.textContent = 'The report shows once the gallery has loaded.';
    root.append(this.status, this.box);
    // Reported while shown only: a folded panel or another tab costs nothing, even as a gallery streams in
    // (the margin makes "shown" mean displayed, wherever the page is scrolled).
    new IntersectionObserver(
      (seen) => {
        this.shown = seen.at(-1)!.isIntersecting;
        if (this.shown && this.stale) this.refresh();
      },
      { rootMargin: '100000px' },
    ).observe(root);
  }

  /**
   * The gallery or the threshold may have changed: report again once changes settle (unless nothing did). The
   * host calls this first, once its gallery is there.
   */
  refresh(): void {
    this.stale = !this.shown;
    this.box.dataset.state = this.shown ? 'computing' : 'stale';
    if (this.shown) this.runs.changed();
  }

  private async compose(): Promise<void> {
    // Past a few thousand images the O(N²) pass takes minutes: a fixed sample, in each class's share, says it.
    const sample = sampleForReport(this.source.entries(), this.compute.reportSampleLimit);
    const entries = sample.entries
      .map((e) => ({ id: e.id, label: e.label, embedding: e.embedding }))
      .filter((e) => e.embedding.length > 0);
    const total = sample.total - (sample.entries.length - entries.length);
    const threshold = this.source.threshold();
    const falseAcceptRate = Number(this.far.value);
    const signature = JSON.stringify([
      threshold,
      falseAcceptRate,
      entries.map((e) => [e.id, e.label, e.embedding.length]),
    ]);
    if (signature === this.signature && this.box.hasAttribute('data-recall-at-1')) {
      this.box.dataset.state = 'ready';
      return;
    }
    this.signature = signature;
    const generation = ++this.generation;
    const labels = new Set(entries.map((e) => e.label));
    if (labels.size < 2 || labels.size === entries.length) {
      return this.empty(
        entries.length === 0
          ? 'The report needs a labelled gallery: add images with labels (a folder with one subfolder per label).'
          : 'The report needs at least two labels, and at least one label with two or more images.',
      );
    }
    const sampled =
      total > entries.length
        ? `On ${entries.length} of the gallery's ${total} images, a fixed sample keeping each class's share: a class has fewer of its images to match here than in the whole gallery, so the whole gallery's recall@1 is usually somewhat higher.`
        : '';
    this.status.textContent = `Scoring ${entries.length} gallery images against each other…`;
    let report: GalleryReportResult;
    try {
      report = await this.compute.report(entries, { threshold, falseAcceptRate });
    } catch (e) {
      if (generation === this.generation) this.empty(`No report: ${(e as Error).message}`);
      return;
    }
    if (generation !== this.generation || this.runs.due) return;
    this.show(report);
    this.status.textContent = sampled;
    this.box.dataset.images = String(entries.length);
    this.box.dataset.galleryImages = String(total);
  }

  private empty(text: string): void {
    this.status.textContent = text;
    this.box.removeAttribute('data-recall-at-1');
    delete this.box.dataset.map;
    delete this.box.dataset.suggestedThreshold;
    this.box.replaceChildren();
    this.box.dataset.state = 'empty';
  }

  private show(r: GalleryReportResult): void {
    this.status.textContent = '';
    this.box.setAttribute('data-recall-at-1', String(r.recallAt1));
    this.box.dataset.map = String(r.map);
    this.box.dataset.suggestedThreshold = String(r.threshold.suggestedThreshold);
    this.box.replaceChildren(
      this.summary(r),
      h('h3', { text: 'Right matches and unknown objects' }),
      this.thresholds(r),
      h('h3', { text: 'How many images does a class need?' }),
      this.growth(r),
      h('h3', { text: 'Classes taken for each other' }),
      this.confusions(r),
      h('h3', { text: 'Per class' }),
      this.classes(r),
    );
    this.box.dataset.state = 'ready';
  }

  private summary(r: GalleryReportResult): HTMLElement {
    const figure = (name: string, value: string, testid: string) =>
      h(
        'div',
        { class: 'figure' },
        h('span', { class: 'figure-value', text: value, 'data-testid': testid }),
        h('span', { class: 'hint', text: name }),
      );
    return h(
      'div',
      {},
      h(
        'div',
        { class: 'figures' },
        figure('recall@1', fixed(r.recallAt1), 'report-recall-at-1'),
        figure('recall@5', fixed(r.recallAt5), 'report-recall-at-5'),
        figure('mAP', fixed(r.map), 'report-map'),
        figure('images · labels', `${r.images} · ${r.classes}`, 'report-size'),
      ),
      h('p', {
        class: 'hint',
        text:
          `${r.queries} queries: every image whose label has another image.` +
          (r.singleImageClasses.length > 0
            ? ` ${r.singleImageClasses.length} label${r.singleImageClasses.length === 1 ? ' has' : 's have'} one image only (${r.singleImageClasses.slice(0, 5).join(', ')}${r.singleImageClasses.length > 5 ? ', …' : ''}): never a query, still a possible wrong match.`
            : ''),
      }),
    );
  }

  private thresholds(r: GalleryReportResult): HTMLElement {
    const t = r.threshold;
    const rates = (x: { knownRight: number; unknownRejected: number }) =>
      `${pct(x.knownRight)} of images recognised rightly, ${pct(x.unknownRejected)} of unknown objects rejected`;
    const use = h('button', {
      type: 'button',
      text: `Use ${t.suggestedThreshold.toFixed(2)}`,
      'data-testid': 'use-suggested-threshold',
    });
    use.addEventListener('click', () => this.source.useThreshold?.(Number(t.suggestedThreshold.toFixed(2))));
    const key = (colour: string, text: string) => {
      const s = h('span', { class: 'swatch' });
      s.style.background = colour;
      return h('span', { class: 'key' }, s, text);
    };
    return h(
      'div',
      {},
      h(
        'p',
        { class: 'hint' },
        key(SAME_COLOUR, "best score against the image's own class"),
        ' ',
        key(OTHER_COLOUR, 'best score against any other class'),
      ),
      scoreHistogram(r.scores, { threshold: t.threshold, suggested: t.suggestedThreshold }),
      t.atThreshold ? h('p', { text: `At your threshold ${t.threshold!.toFixed(2)}: ${rates(t.atThreshold)}.` }) : null,
      h(
        'p',
        {},
        `Suggested ${t.suggestedThreshold.toFixed(3)}, which lets in at most `,
        this.far,
        ` of unknown objects (each class left out in turn): ${rates(t.atSuggested)}.`,
        ' ',
        this.source.useThreshold ? use : null,
      ),
    );
  }

  private growth(r: GalleryReportResult): HTMLElement {
    const mean = meanGrowth(r.growth);
    const text = mean.map((p) => `${p.galleryImages}: ${fixed(p.recallAt1)}`).join(' · ');
    return h(
      'div',
      {},
      growthChart(r.growth),
      h('p', {
        class: 'hint',
        text: `Mean recall@1 by gallery images per class (every sub-gallery of that size, exactly): ${text}.`,
      }),
    );
  }

  private confusions(r: GalleryReportResult): HTMLElement {
    if (r.confusedPairs.length === 0)
      return h('p', { class: 'hint', text: 'No query had its best match in another class.' });
    const name = (id: string) => this.source.nameOf?.(id) ?? id;
    return h(
      'ol',
      { class: 'report-pairs', 'data-testid': 'report-confused' },
      ...r.confusedPairs.map((p) =>
        h(
          'li',
          { 'data-a': p.a, 'data-b': p.b },
          h('strong', { text: `${p.a} ↔ ${p.b}` }),
          `: ${p.aTakenForB} of ${p.a} taken for ${p.b}, ${p.bTakenForA} the other way (${pct(p.rate)} of their queries). `,
          h('span', {
            class: 'hint',
            text: `E.g. ${p.examples.map((e) => `${name(e.queryId)} → ${name(e.matchId)} (${fixed(e.score)})`).join('; ')}`,
          }),
        ),
      ),
    );
  }

  private classes(r: GalleryReportResult): HTMLElement {
    // Worst first: those are the classes to fix (more images, cleaner images, or a merge).
    const rows = [...r.perClass].sort((a, b) => a.recallAt1 - b.recallAt1 || a.map - b.map).slice(0, CLASS_ROWS);
    return h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'report-classes', 'data-testid': 'report-classes' },
        h('thead', {}, h('tr', {}, ...['label', 'images', 'recall@1', 'mAP'].map((t) => h('th', { text: t })))),
        h(
          'tbody',
          {},
          ...rows.map((c) =>
            h(
              'tr',
              { 'data-label': c.label },
              h('td', { text: c.label }),
              h('td', { text: String(c.images) }),
              h('td', { text: fixed(c.recallAt1) }),
              h('td', { text: fixed(c.map) }),
            ),
          ),
        ),
      ),
      r.perClass.length > CLASS_ROWS
        ? h('p', { class: 'hint', text: `The ${CLASS_ROWS} weakest of ${r.perClass.length} labels.` })
        : null,
    );
  }
}
