/**
 * The model panel: which model (the embedded default or one the user imported), which backend, load
 * progress, and what the worker reports (backend, load time, time per image). Importing a PaddleClas
 * model (inference.pdmodel + inference.pdiparams) or an .onnx converts it in the worker and keeps it in
 * Cache Storage, so it is in the list on the next visit too.
 */
import { BACKEND_CHOICES, type BackendChoice, type EmbedderInfo, type Progress, type StoredModelInfo } from '../core/embedder-api.ts';
import { formatScale, h } from './dom.ts';

export interface ModelChoice {
  readonly model: string;
  readonly backend: BackendChoice;
}

export interface ModelViewActions {
  switchTo(choice: ModelChoice): Promise<void>;
  importFiles(files: File[]): Promise<StoredModelInfo>;
  listStored(): Promise<StoredModelInfo[]>;
  deleteStored(id: string): Promise<void>;
}

export class ModelView {
  private readonly select = h('select', { id: 'model-select', 'data-testid': 'model-select' });
  private readonly backend = h('select', { id: 'backend-select', 'data-testid': 'backend-select' });
  private readonly importInput = h('input', { type: 'file', id: 'model-import', multiple: true, accept: '.pdmodel,.pdiparams,.onnx', class: 'visually-hidden', 'data-testid': 'model-import' });
  private readonly remove = h('button', { type: 'button', text: 'Delete this model', 'data-testid': 'model-delete' });
  readonly status = h('p', { id: 'model-status', role: 'status', 'data-testid': 'model-status', text: 'Loading the model…' });
  private readonly progress = h('progress', { max: 1, value: 0, 'aria-label': 'Model loading', 'data-testid': 'model-progress' });
  private readonly timing = h('p', { class: 'hint', 'data-testid': 'timing' });
  private info: EmbedderInfo | undefined;

  constructor(root: HTMLElement, private readonly defaultUrl: string, private readonly actions: ModelViewActions) {
    this.backend.append(...BACKEND_CHOICES.map((b) => h('option', { value: b, text: b === 'auto' ? 'auto (fastest that works)' : b })));
    const importLabel = h('label', { for: 'model-import', class: 'button', tabindex: 0, text: 'Load a PaddleClas model…' });
    importLabel.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.importInput.click();
      }
    });
    root.append(
      h('div', { class: 'row' },
        h('label', { for: 'model-select', text: 'Model' }), this.select,
        h('label', { for: 'backend-select', text: 'Backend' }), this.backend,
        importLabel, this.importInput, this.remove),
      h('p', { class: 'hint', text: 'A PaddleClas model: drop inference.pdmodel and inference.pdiparams together (or one .onnx from paddle2onnx). It is converted here, in your browser.' }),
      this.progress,
      this.status,
      this.timing,
    );
    const change = () => void this.actions.switchTo({ model: this.select.value, backend: this.backend.value as BackendChoice });
    this.select.addEventListener('change', change);
    this.backend.addEventListener('change', change);
    this.importInput.addEventListener('change', () => void this.importPicked());
    this.remove.addEventListener('click', () => void this.deleteSelected());
  }

  async refreshList(selected = this.select.value || this.defaultUrl): Promise<void> {
    let stored: StoredModelInfo[] = [];
    try {
      stored = await this.actions.listStored();
    } catch {
      // Cache Storage unavailable (e.g. an insecure origin): only the default model is offered.
    }
    this.select.replaceChildren(
      h('option', { value: this.defaultUrl, text: 'Default: embedded PP-LCNet model' }),
      ...stored.map((m) => h('option', { value: m.url, text: `${m.id} (imported, ${formatScale(m.scale)}, ${m.embeddingDim}-d)` })),
    );
    this.select.value = [...this.select.options].some((o) => o.value === selected) ? selected : this.defaultUrl;
    this.remove.hidden = this.select.value === this.defaultUrl;
  }

  loading(p: Progress): void {
    if (p.stage === 'download' && p.total > 0) {
      this.progress.value = p.done / p.total;
      this.status.textContent = `Downloading the model… ${(p.done / 2 ** 20).toFixed(1)} of ${(p.total / 2 ** 20).toFixed(1)} MiB`;
    }
    if (p.stage === 'compile') this.status.textContent = 'Preparing the model (compiling shaders)…';
  }

  busy(text: string): void {
    this.status.textContent = text;
    this.progress.hidden = false;
    this.progress.removeAttribute('value');
    this.select.disabled = this.backend.disabled = true;
  }

  ready(info: EmbedderInfo): void {
    this.info = info;
    this.progress.value = 1;
    this.progress.hidden = true;
    this.select.disabled = this.backend.disabled = false;
    this.remove.hidden = this.select.value === this.defaultUrl;
    this.status.dataset.backend = info.backend;
    this.status.textContent = `${info.modelId}: PP-LCNet ${formatScale(info.scale)}, ${info.embeddingDim}-d, ${info.dtype} weights, on ${info.backend}; loaded in ${Math.round(info.loadMs)} ms.`;
    this.status.title = Object.entries(info.backendReasons).map(([b, why]) => `${b}: ${why}`).join('\n');
  }

  failed(message: string): void {
    this.progress.value = 0;
    this.select.disabled = this.backend.disabled = false;
    this.status.textContent = message;
  }

  perImage(ms: number | undefined, done: number): void {
    if (ms === undefined || !this.info) return;
    this.timing.textContent = `${done} images embedded · about ${ms.toFixed(0)} ms per image in the worker (decode, preprocess, ${this.info.backend} inference, batches of ${this.info.batchSize}).`;
  }

  private async importPicked(): Promise<void> {
    const files = [...(this.importInput.files ?? [])];
    this.importInput.value = '';
    if (files.length === 0) return;
    this.busy(`Converting ${files.map((f) => f.name).join(' + ')}…`);
    try {
      const stored = await this.actions.importFiles(files);
      await this.refreshList(stored.url);
      await this.actions.switchTo({ model: stored.url, backend: this.backend.value as BackendChoice });
    } catch (e) {
      // The model in use is unchanged: unlock the controls, and say what went wrong.
      if (this.info) this.ready(this.info);
      this.failed(`Could not import the model: ${(e as Error).message}`);
    }
  }

  private async deleteSelected(): Promise<void> {
    const url = this.select.value;
    const id = this.select.selectedOptions[0]?.textContent?.split(' ')[0];
    if (url === this.defaultUrl || !id || !confirm(`Delete the imported model ${id} from this browser?`)) return;
    await this.actions.deleteStored(id);
    await this.refreshList(this.defaultUrl);
    await this.actions.switchTo({ model: this.defaultUrl, backend: this.backend.value as BackendChoice });
  }
}
