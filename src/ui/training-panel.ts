/**
 * The fine-tuning panel: labelled cards (folder names or labels set on a card) train the neck and an
 * ArcMargin head in the worker. Curves per epoch, an ETA, a stop button that keeps the best epoch, the
 * before / after validation retrieval, and the result saved as a model the page switches to.
 */
import type { StoredModelInfo } from '../core/embedder-api.ts';
import type { FineTuneEpoch, FineTuneProgress, FineTuneReport, FineTuneSample } from '../core/fine-tune-api.ts';
import {
  DEFAULT_FINE_TUNE_OPTIONS,
  DEFAULT_LEARNING_RATE,
  FINE_TUNE_LIMITS,
  FINE_TUNE_DEPTHS,
  FINE_TUNE_OPTIMIZERS,
  type FineTuneDepth,
  type FineTuneOptimizer,
  type FineTuneOptions,
} from '../core/options.ts';
import type { FineTuneResult, ModelExportFormat } from '../core/worker-api.ts';
import { download, h } from './dom.ts';
import { drawTrainingChart } from './training-chart.ts';
import type { Session } from './session.ts';

export interface TrainingActions {
  fineTune(
    samples: FineTuneSample[],
    options: FineTuneOptions,
    onProgress: (p: FineTuneProgress) => void,
  ): Promise<FineTuneResult>;
  stop(): Promise<void>;
  /** Switches the page to the fine-tuned model (re-embeds every card). */
  use(model: StoredModelInfo): Promise<void>;
  /** How the model list names a stored model ("Fine-tuned from …, <date>"). */
  nameOf(model: StoredModelInfo): string;
  /** The stored model's files, for download: [name, bytes]. */
  files(model: StoredModelInfo): Promise<[string, Blob][]>;
  /** The model as ONNX or a Paddle inference model (export-model.ts), for download: [name, bytes]. */
  exportAs(model: StoredModelInfo, format: ModelExportFormat): Promise<[string, Blob][]>;
}

const pct = (v: number) => (Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)} %`);

const D = DEFAULT_FINE_TUNE_OPTIONS;
const L = FINE_TUNE_LIMITS;
const OPTIMIZER_TEXT: Record<FineTuneOptimizer, string> = { adam: 'Adam', momentum: 'momentum SGD' };
const DEPTH_TEXT: Record<FineTuneDepth, string> = {
  neck: 'neck only',
  'last-conv': 'neck + last_conv',
  'last-block': 'neck + last_conv + last block',
  'last-stage': 'neck + last_conv + last stage (slowest)',
};
const lrHint = (o: FineTuneOptimizer) => `default ${DEFAULT_LEARNING_RATE[o]}`;

export class TrainingPanel {
  private readonly summary = h('p', { 'data-testid': 'training-summary' });
  // Initial values and ranges: the API's own defaults and limits (core/options), so the panel and fineTune() agree.
  private readonly epochs = h('input', {
    type: 'number',
    min: L.epochs.min,
    max: L.epochs.max,
    value: D.epochs,
    id: 'ft-epochs',
    class: 'narrow',
  });
  private readonly batch = h('input', {
    type: 'number',
    min: L.batchSize.min,
    max: L.batchSize.max,
    value: D.batchSize,
    id: 'ft-batch',
    class: 'narrow',
  });
  private readonly optimizer = h(
    'select',
    { id: 'ft-optimizer' },
    ...FINE_TUNE_OPTIMIZERS.map((o) => h('option', { value: o, text: OPTIMIZER_TEXT[o], selected: o === D.optimizer })),
  );
  // How deep training reaches; docs/fine-tuning.md ("Depth") says how the default was chosen.
  private readonly depth = h(
    'select',
    { id: 'ft-depth' },
    ...FINE_TUNE_DEPTHS.map((d) => h('option', { value: d, text: DEPTH_TEXT[d], selected: d === D.depth })),
  );
  private readonly lr = h('input', {
    type: 'number',
    min: 0,
    step: 'any',
    placeholder: lrHint(D.optimizer),
    id: 'ft-lr',
    class: 'narrow',
  });
  private readonly valShare = h('input', {
    type: 'number',
    min: L.validationFraction.min,
    max: L.validationFraction.max,
    step: 0.05,
    value: D.validationFraction,
    id: 'ft-val',
    class: 'narrow',
  });
  private readonly trainNeck = h('input', { type: 'checkbox', id: 'ft-neck', checked: D.trainNeck });
  private readonly augment = h('input', { type: 'checkbox', id: 'ft-augment', checked: D.augment });
  // 0 = ArcMargin alone, as PP-ShiTu v1; the README's fine-tuning section says what a weight of 1 does.
  private readonly triplet = h('input', {
    type: 'number',
    min: L.tripletWeight.min,
    max: L.tripletWeight.max,
    step: 'any',
    value: D.tripletWeight,
    id: 'ft-triplet',
    class: 'narrow',
  });
  private readonly start = h('button', { type: 'button', text: 'Fine-tune', 'data-testid': 'train-start' });
  private readonly stopButton = h('button', {
    type: 'button',
    text: 'Stop (keep the best so far)',
    'data-testid': 'train-stop',
    disabled: true,
  });
  private readonly progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Fine-tuning progress' });
  private readonly status = h('p', { role: 'status', 'data-testid': 'train-status' });
  private readonly chart = h('canvas', {
    width: 640,
    height: 200,
    hidden: true,
    role: 'img',
    'aria-label': 'Loss and accuracy per epoch',
    'data-testid': 'train-chart',
  });
  private readonly report = h('div', { 'data-testid': 'train-report' });
  private history: FineTuneEpoch[] = [];
  /** Fixed at the start of a run, so the x axis does not change under the curves. */
  private totalEpochs = 0;
  private running = false;

  constructor(
    root: HTMLElement,
    private readonly session: Session,
    private readonly actions: TrainingActions,
    /** The gallery's labelled images (they survive reloads); cards already in the gallery are not counted twice. */
    private readonly gallerySamples: () => FineTuneSample[] = () => [],
  ) {
    const field = (label: string, input: HTMLElement) => h('label', { class: 'field' }, `${label} `, input);
    this.start.addEventListener('click', () => void this.run());
    this.optimizer.addEventListener(
      'change',
      () => (this.lr.placeholder = lrHint(this.optimizer.value as FineTuneOptimizer)),
    );
    this.stopButton.addEventListener('click', () => {
      this.stopButton.disabled = true;
      this.status.textContent = 'Stopping after this batch…';
      void this.actions.stop();
    });
    root.append(
      this.summary,
      h(
        'div',
        { class: 'row' },
        field('Epochs', this.epochs),
        field('Batch', this.batch),
        field('Depth', this.depth),
        field('Optimizer', this.optimizer),
        field('Learning rate', this.lr),
        field('Validation share', this.valShare),
        field('Triplet weight', this.triplet),
        h('label', { class: 'field' }, this.trainNeck, ' train the neck'),
        h('label', { class: 'field' }, this.augment, ' augment (crop, flip; slower)'),
      ),
      h('div', { class: 'row' }, this.start, this.stopButton, this.progress),
      this.status,
      this.chart,
      this.report,
    );
    session.subscribe(() => this.summarise());
    this.summarise();
  }

  /** The gallery's labelled images, then this visit's labelled cards that are not in the gallery. */
  private samples(): { samples: FineTuneSample[]; fromGallery: number } {
    const gallery = this.gallerySamples();
    const cards = this.session.cards
      .filter((c) => c.label.trim() !== '' && c.status !== 'error' && !c.galleryId)
      .map((c): FineTuneSample => ({ image: c.file, label: c.label.trim(), name: c.name }));
    return { samples: [...gallery, ...cards], fromGallery: gallery.length };
  }

  summarise(): void {
    if (this.running) return;
    const { samples, fromGallery } = this.samples();
    const counts = new Map<string, number>();
    for (const c of samples) counts.set(c.label, (counts.get(c.label) ?? 0) + 1);
    const list = [...counts].map(([l, n]) => `${l} (${n})`).join(', ');
    const where =
      fromGallery === samples.length
        ? 'from the gallery'
        : fromGallery > 0
          ? `(${fromGallery} from the gallery)`
          : 'of this visit';
    this.summary.textContent =
      samples.length === 0
        ? 'No labelled images: add labelled images to the gallery (a folder with one subfolder per label), or give the selected image a label.'
        : `${samples.length} labelled images ${where}, ${counts.size} labels: ${list}.` +
          (counts.size < 2 ? ' Fine-tuning needs at least 2 labels.' : '');
    this.start.disabled = counts.size < 2;
  }

  /** The last run's report belongs to the model it made: a model change or a cleared page retires it. */
  clearReport(): void {
    if (this.running) return;
    this.history = [];
    this.draw();
    this.report.replaceChildren();
    this.status.textContent = '';
  }

  private options(): FineTuneOptions {
    const lr = Number(this.lr.value);
    return {
      epochs: Number(this.epochs.value),
      batchSize: Number(this.batch.value),
      optimizer: this.optimizer.value as FineTuneOptimizer,
      depth: this.depth.value as FineTuneDepth,
      ...(this.lr.value !== '' && lr > 0 ? { learningRate: lr } : {}),
      validationFraction: Number(this.valShare.value),
      trainNeck: this.trainNeck.checked,
      augment: this.augment.checked,
      ...(Number(this.triplet.value) > 0 ? { tripletWeight: Number(this.triplet.value) } : {}),
    };
  }

  private async run(): Promise<void> {
    const { samples } = this.samples();
    const options = this.options();
    this.totalEpochs = options.epochs ?? 0;
    this.running = true;
    this.history = [];
    this.draw();
    this.report.replaceChildren();
    this.start.disabled = true;
    this.stopButton.disabled = false;
    this.progress.hidden = false;
    this.status.textContent = `Computing backbone features of ${samples.length} images…`;
    try {
      const { report, model } = await this.actions.fineTune(samples, options, (p) => this.onProgress(p));
      this.showReport(report, model);
      if (model) await this.actions.use(model);
    } catch (e) {
      this.status.textContent = `Fine-tuning failed: ${(e as Error).message}`;
    } finally {
      this.running = false;
      this.stopButton.disabled = true;
      this.progress.hidden = true;
      this.summarise();
    }
  }

  private onProgress(p: FineTuneProgress): void {
    this.progress.value = p.total ? p.done / p.total : 0;
    const eta = p.etaMs !== undefined ? `, about ${Math.ceil(p.etaMs / 1000)} s left` : '';
    if (p.phase === 'features') this.status.textContent = `Backbone features: ${p.done} of ${p.total} images${eta}.`;
    if (p.phase === 'train' && p.epoch) {
      this.history.push(p.epoch);
      this.draw();
      const e = p.epoch;
      this.status.textContent = `Epoch ${e.epoch} of ${p.total}: loss ${e.trainLoss.toFixed(3)}, validation accuracy ${pct(e.valAccuracy)}, mAP ${pct(e.valMap)}${eta}.`;
    }
  }

  private draw(): void {
    // An empty chart box says nothing: it appears with the first epoch.
    this.chart.hidden = this.history.length === 0;
    drawTrainingChart(this.chart, this.history, { totalEpochs: this.totalEpochs });
  }

  private showReport(r: FineTuneReport, model: StoredModelInfo | undefined): void {
    const row = (k: string, before: string, after: string) =>
      h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { text: before }), h('td', { text: after }));
    const table = h(
      'table',
      { class: 'result-table', 'data-testid': 'train-table' },
      h('caption', { text: `Validation retrieval (${r.validationImages} held-out images)` }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { text: '' }),
          h('th', { scope: 'col', text: 'before' }),
          h('th', { scope: 'col', text: 'after' }),
        ),
      ),
      h(
        'tbody',
        {},
        row('recall@1', pct(r.before.recallAt1), pct(r.after.recallAt1)),
        row('mAP', pct(r.before.map), pct(r.after.map)),
      ),
    );
    const lines = [
      `${r.trainImages} training images, ${r.classes.length} labels, ${r.seconds.toFixed(1)} s.`,
      r.stopped ? `Stopped by you after ${r.history.length} epochs.` : '',
      model
        ? `Kept epoch ${r.bestEpoch} (best validation mAP) as “${this.actions.nameOf(model)}”; the page now uses it.`
        : 'Stopped before the first epoch ended: nothing was saved, the model is unchanged.',
      ...r.notes,
      ...(r.skipped.length ? [`Left out: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`] : []),
    ].filter(Boolean);
    const parts: HTMLElement[] = [table, ...lines.map((t) => h('p', { text: t }))];
    if (model) {
      const save = h('button', { type: 'button', text: 'Download the model files', 'data-testid': 'train-download' });
      save.addEventListener('click', async () => {
        for (const [name, blob] of await this.actions.files(model)) download(name, blob, blob.type);
      });
      parts.push(save);
      // Back into PaddleClas / PP-ShiTu or ONNX Runtime: backbone + neck, the embedding as output.
      const exports: [ModelExportFormat, string][] = [
        ['onnx', 'Download ONNX'],
        ['paddle', 'Download Paddle inference model'],
      ];
      for (const [format, text] of exports) {
        const button = h('button', { type: 'button', text, 'data-testid': `train-download-${format}` });
        button.addEventListener('click', async () => {
          for (const [name, blob] of await this.actions.exportAs(model, format)) download(name, blob, blob.type);
        });
        parts.push(button);
      }
    }
    this.report.replaceChildren(...parts);
    this.status.textContent = !model
      ? 'Stopped: nothing saved.'
      : r.stopped
        ? `Stopped: kept epoch ${r.bestEpoch} as ${model.id}.`
        : `Done: ${model.id}, saved as “${this.actions.nameOf(model)}”.`;
  }
}
