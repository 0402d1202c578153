/**
 * The model panel: which model (the embedded default or one the user imported), which backend, load
 * progress, and what the worker reports (backend, load time, time per image). Importing a PaddleClas /
 * PaddleX model (its folder: inference.pdmodel or inference.json, inference.pdiparams, inference.yml) or an
 * .onnx converts it in the worker and keeps it in Cache Storage, so it is in the list on the next visit too.
 * A refused import is shown apart from the status line, which keeps saying which model is in use.
 */
import {
  BACKEND_CHOICES,
  MODEL_IMPORT_ROLES,
  type BackendChoice,
  type EmbedderInfo,
  type ModelImportRole,
  type Progress,
  type StoredModelInfo,
} from '../core/embedder-api.ts';
import { formatScale, h } from './dom.ts';
import { explainImportFailure } from './import-failure.ts';

/** Files that belong to a model, not to the images: a drop holding one of these is a model import. */
export const MODEL_FILE = /\.(pdmodel|pdiparams|onnx)$|(^|\/)inference\.(json|ya?ml)$|\.pdiparams\.info$/i;
const MODEL_ACCEPT = '.pdmodel,.pdiparams,.onnx,.json,.yml,.yaml,.info';

export interface ModelChoice {
  readonly model: string;
  readonly backend: BackendChoice;
}

export interface ModelViewActions {
  /** Resolves false when the model could not be loaded (the panel already says why). */
  switchTo(choice: ModelChoice): Promise<boolean>;
  importFiles(files: File[], role: ModelImportRole): Promise<StoredModelInfo>;
  listStored(): Promise<StoredModelInfo[]>;
  deleteStored(id: string): Promise<void>;
}

export class ModelView {
  private readonly select = h('select', { id: 'model-select', 'data-testid': 'model-select' });
  private readonly backend = h('select', { id: 'backend-select', 'data-testid': 'backend-select' });
  private readonly importInput = h('input', {
    type: 'file',
    id: 'model-import',
    multiple: true,
    accept: MODEL_ACCEPT,
    class: 'visually-hidden',
    'data-testid': 'model-import',
  });
  private readonly folderInput = h('input', {
    type: 'file',
    id: 'model-import-folder',
    multiple: true,
    webkitdirectory: true,
    class: 'visually-hidden',
    'data-testid': 'model-import-folder',
  });
  private readonly importError = h('div', {
    class: 'import-error',
    role: 'alert',
    hidden: true,
    'data-testid': 'model-import-error',
  });
  /** How the last linear layer is read: a file ending in an fc without softmax or labels could be either. */
  private readonly role = h('select', { id: 'model-import-role', 'data-testid': 'model-import-role' });
  private readonly remove = h('button', { type: 'button', text: 'Delete this model', 'data-testid': 'model-delete' });
  readonly status = h('p', {
    id: 'model-status',
    role: 'status',
    'data-testid': 'model-status',
    text: 'Loading the model…',
  });
  private readonly progress = h('progress', {
    max: 1,
    value: 0,
    'aria-label': 'Model loading',
    'data-testid': 'model-progress',
  });
  private readonly timing = h('p', { class: 'hint', 'data-testid': 'timing' });
  private info: EmbedderInfo | undefined;
  /** The default model's id: fine-tuned models made from it say "the default model". */
  private defaultModelId = '';

  constructor(
    root: HTMLElement,
    private readonly defaultUrl: string,
    private readonly actions: ModelViewActions,
  ) {
    this.backend.append(
      ...BACKEND_CHOICES.map((b) => h('option', { value: b, text: b === 'auto' ? 'auto (fastest that works)' : b })),
    );
    const button = (input: HTMLInputElement, text: string) => {
      const label = h('label', { for: input.id, class: 'button', tabindex: 0, text });
      label.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          input.click();
        }
      });
      return label;
    };
    const roleText: Record<ModelImportRole, string> = {
      auto: 'last layer: auto',
      embedder: 'last layer: a PP-ShiTu neck (embedding)',
      classifier: "last layer: a classifier's fc (labels)",
    };
    this.role.append(...MODEL_IMPORT_ROLES.map((r) => h('option', { value: r, text: roleText[r] })));
    root.append(
      h(
        'div',
        { class: 'row' },
        h('label', { for: 'model-select', text: 'Model' }),
        this.select,
        h('label', { for: 'backend-select', text: 'Backend' }),
        this.backend,
        button(this.folderInput, 'Load a model folder…'),
        this.folderInput,
        button(this.importInput, 'Load model files…'),
        this.importInput,
        h('label', {
          for: 'model-import-role',
          class: 'visually-hidden',
          text: "How to read the imported model's last layer",
        }),
        this.role,
        this.remove,
      ),
      h('p', {
        class: 'hint',
        text:
          'Your own PaddleClas / PaddleX model: pick or drop its folder (inference.pdmodel or inference.json, inference.pdiparams and inference.yml), ' +
          'or one .onnx from paddle2onnx. It is converted here, in your browser; classifiers show their predicted label on each card.',
      }),
      this.progress,
      this.status,
      this.importError,
      this.timing,
    );
    const change = () =>
      void this.actions.switchTo({ model: this.select.value, backend: this.backend.value as BackendChoice });
    this.select.addEventListener('change', change);
    this.backend.addEventListener('change', change);
    this.importInput.addEventListener('change', () => void this.importPicked(this.importInput));
    this.folderInput.addEventListener('change', () => void this.importPicked(this.folderInput));
    this.remove.addEventListener('click', () => void this.deleteSelected());
  }

  async refreshList(selected = this.select.value || this.defaultUrl): Promise<void> {
    if (!this.defaultModelId) {
      // Only to name fine-tuned models "from the default model" (the manifest is small and HTTP-cached).
      this.defaultModelId = await fetch(this.defaultUrl)
        .then((r) => r.json())
        .then(
          (m: { modelId?: unknown }) => String(m.modelId ?? ''),
          () => '',
        );
    }
    let stored: StoredModelInfo[] = [];
    try {
      stored = await this.actions.listStored();
    } catch {
      // Cache Storage unavailable (e.g. an insecure origin): only the default model is offered.
    }
    this.select.replaceChildren(
      h('option', { value: this.defaultUrl, text: 'Default: embedded PP-LCNet model' }),
      ...stored.map((m) => h('option', { value: m.url, 'data-id': m.id, 'data-kind': m.kind, text: this.describe(m) })),
    );
    this.select.value = [...this.select.options].some((o) => o.value === selected) ? selected : this.defaultUrl;
    this.remove.hidden = this.select.value === this.defaultUrl;
  }

  /** Shows a choice made elsewhere (the one remembered from the last visit) before it is loaded. */
  show(choice: ModelChoice): void {
    if (this.offers(choice.model)) this.select.value = choice.model;
    if ((BACKEND_CHOICES as readonly string[]).includes(choice.backend)) this.backend.value = choice.backend;
    this.remove.hidden = this.select.value === this.defaultUrl;
  }

  /** Whether a model URL is still offered (a remembered choice may have been deleted since). */
  offers(url: string): boolean {
    return [...this.select.options].some((o) => o.value === url);
  }

  /** A fine-tuned model is named after its base and date; an imported one by its id. */
  describe(m: StoredModelInfo): string {
    const shape = `${formatScale(m.scale)}, ${m.embeddingDim}-d${m.classes ? `, ${m.classes} labels` : ''}`;
    const when = m.createdAt
      ? new Date(m.createdAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
      : '';
    if (m.kind === 'fine-tuned') {
      const base = m.base === undefined ? 'a model' : m.base === this.defaultModelId ? 'the default model' : m.base;
      return `Fine-tuned from ${base}${when ? `, ${when}` : ''} (${shape})`;
    }
    return `${m.id} (imported, ${shape}${when ? `; ${when}` : ''})`;
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
    const p = info.preprocessing;
    const input = p.width === 224 && p.height === 224 ? '' : `, input ${p.width} x ${p.height}`;
    const head =
      info.headType === 'Linear' && info.classes
        ? `, classifier of ${info.classes.length} labels (${info.classes.slice(0, 3).join(', ')}${info.classes.length > 3 ? ', …' : ''})`
        : '';
    this.status.textContent = `${info.modelId}: PP-LCNet ${formatScale(info.scale)}, ${info.embeddingDim}-d${input}${head}, ${info.dtype} weights, on ${info.backend}; loaded in ${Math.round(info.loadMs)} ms.`;
    this.status.title = Object.entries(info.backendReasons)
      .map(([b, why]) => `${b}: ${why}`)
      .join('\n');
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

  private async importPicked(input: HTMLInputElement): Promise<void> {
    const files = [...(input.files ?? [])];
    input.value = '';
    await this.importModel(files);
  }

  /** Converts the files in the worker, stores the model and switches to it; a refusal leaves the model in use. */
  async importModel(files: File[]): Promise<void> {
    if (files.length === 0) return;
    const previous = this.status.textContent;
    this.clearImportError();
    const names = files.map((f) => f.name);
    this.busy(`Converting ${names.length > 4 ? `${names.length} files` : names.join(' + ')}…`);
    try {
      const stored = await this.actions.importFiles(files, this.role.value as ModelImportRole);
      await this.refreshList(stored.url);
      await this.actions.switchTo({ model: stored.url, backend: this.backend.value as BackendChoice });
    } catch (e) {
      // The model in use is unchanged: unlock the controls, keep saying which one it is, and show the refusal apart.
      if (this.info) this.ready(this.info);
      else this.failed(previous ?? '');
      this.showImportError(explainImportFailure((e as Error).message, names));
    }
  }

  /** Apart from the status line (which keeps naming the model in use), until the next import or model change. */
  private showImportError(f: { headline: string; advice: string; details: string }): void {
    const close = h('button', {
      type: 'button',
      class: 'link',
      text: 'Dismiss',
      'data-testid': 'model-import-dismiss',
    });
    close.addEventListener('click', () => (this.importError.hidden = true));
    this.importError.replaceChildren(
      h('p', {}, h('strong', { text: `Not imported: ${f.headline}` }), ' ', close),
      h('p', { text: f.advice }),
      h('details', {}, h('summary', { text: 'Technical details' }), h('code', { text: f.details })),
    );
    this.importError.hidden = false;
  }

  /** A model change (or a new import) makes an old refusal stale. */
  clearImportError(): void {
    this.importError.hidden = true;
    this.importError.replaceChildren();
  }

  private async deleteSelected(): Promise<void> {
    const url = this.select.value;
    const option = this.select.selectedOptions[0];
    const id = option?.dataset.id;
    if (url === this.defaultUrl || !id || !confirm(`Delete the model "${option.textContent}" from this browser?`))
      return;
    await this.actions.deleteStored(id);
    await this.refreshList(this.defaultUrl);
    await this.actions.switchTo({ model: this.defaultUrl, backend: this.backend.value as BackendChoice });
  }
}
