/**
 * The page: wires the views (src/ui/) to one embedder client (one worker). The state is a Session of
 * cards; views subscribe to it. Nothing here sends an image anywhere: files go to the worker as Blobs.
 */
import { embeddingsToCsv, embeddingsToJson, embeddingsToNpy } from './core/export-formats.ts';
import { filesFromDrop, filesFromInput, filesFromPaste, type PickedFile } from './ui/collect-files.ts';
import { download } from './ui/dom.ts';
import { galleryEntriesLeaving, galleryHolders } from './ui/duplicates-group.ts';
import { DuplicatesView } from './ui/duplicates-view.ts';
import { EmbeddingMap } from './ui/embedding-map.ts';
import { EmbedQueue } from './ui/embed-queue.ts';
import { GalleryStore } from './ui/gallery-store.ts';
import { GalleryReportView } from './ui/gallery-report-view.ts';
import { GalleryView } from './ui/gallery-view.ts';
import { ImageGrid } from './ui/image-grid.ts';
import { MODEL_FILE, ModelView, type ModelChoice } from './ui/model-view.ts';
import { QueryView } from './ui/query-view.ts';
import type { InsightsCompute } from './ui/report-compute.ts';
import { rememberOpen, wireTabs } from './ui/report-tabs.ts';
import { Session } from './ui/session.ts';
import { SimilarityView } from './ui/similarity-view.ts';
import { ThumbnailUrls } from './ui/thumbnails.ts';
import { TopKView } from './ui/topk-view.ts';
import { TrainingPanel } from './ui/training-panel.ts';
import { VectorView } from './ui/vector-view.ts';
import type { EmbedderInfo } from './core/embedder-api.ts';
import { DEFAULT_LOAD_OPTIONS } from './core/options.ts';
import {
  createEmbedder,
  DEFAULT_MODEL_URL,
  deleteStoredModel,
  listStoredModels,
  readStoredModelFiles,
  type Embedder,
} from './worker/client.ts';
import { createInsightsWorker } from './worker/insights-client.ts';
import { createUmapLayout } from './worker/umap-client.ts';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;

const session = new Session();
const thumbs = new ThumbnailUrls();
const grid = new ImageGrid($<HTMLOListElement>('#cards'), session, thumbs);
const vector = new VectorView($('#vector-view'), thumbs);
const topk = new TopKView($('#topk-view'), session, thumbs);
new SimilarityView($('#similarity-view'), session, thumbs); // subscribes to the session itself
const batchProgress = $<HTMLProgressElement>('#batch-progress');
const batchStatus = $('#batch-status');
const toGallery = $<HTMLInputElement>('#to-gallery');
const defaultModel = new URL(DEFAULT_MODEL_URL, location.href).href;

let embedder: Embedder | undefined;
let modelId = '';
let backendChoice: ModelChoice['backend'] = DEFAULT_LOAD_OPTIONS.backend;
/** How many workers the embedder may use (info().workers): the queue keeps one batch per worker in flight. */
let poolWorkers = 1;

function refreshSelected(): void {
  const card = session.selected;
  $('#selected-hint').hidden = !!card;
  vector.show(card);
  topk.show(card);
  query.show(card);
}

// The map, the gallery report and the near-duplicates compute in workers of their own (PCA, report and
// duplicates in one, UMAP in another, ended and restarted to cancel a layout).
const insightsWorker = createInsightsWorker();
const umapLayout = createUmapLayout();
const insights: InsightsCompute = {
  pca: (rows) => insightsWorker.pca(rows),
  report: (entries, options) => insightsWorker.report(entries, options),
  duplicates: (candidates, threshold) => insightsWorker.duplicates(candidates, threshold),
  umap: {
    run: (rows, options, onProgress) => umapLayout.run(rows, options, onProgress),
    cancel: () => umapLayout.cancel(),
  },
};
rememberOpen($<HTMLDetailsElement>('#insights-panel'));
wireTabs($('#insights-tabs'));
const map = new EmbeddingMap($('#map-view'), session, insights, {
  // Its own label, else the class the gallery recognises it as.
  classOf: (card) => card.label || grid.predict(card)?.label,
  gallery: true,
  // Into the gallery only when asked, as the selected image's "Add to gallery" does (an entry made from one of
  // these cards takes the new label).
  onLabel: (cards, label, toGallery) => toGallery && void gallery.add(cards, () => label),
});
new DuplicatesView($('#duplicates-view'), session, thumbs, insights);
const report = new GalleryReportView($('#report-view'), insights, {
  entries: () => {
    // This visit's float vectors where a card holds one (as `npm run eval` scores them), else the stored int8,
    // read only for the entries the report samples (a 30,000-entry import is not dequantised on this thread).
    const floats = new Map(
      session.cards.flatMap((c) => (c.galleryId && c.embedding ? [[c.galleryId, c.embedding]] : [])),
    );
    return gallery.ofModel().map((g) => ({
      id: g.id,
      label: g.label,
      get embedding() {
        return floats.get(g.id) ?? g.embedding;
      },
    }));
  },
  threshold: () => gallery.threshold,
  useThreshold: (value) => {
    // Through the threshold control's own input, as if typed: it keeps and announces the person's choice.
    const input = $<HTMLInputElement>('#gallery-threshold');
    input.value = String(value);
    input.dispatchEvent(new Event('change'));
  },
  nameOf: (id) => gallery.item(id)?.name ?? id,
});

const gallery = new GalleryView($('#gallery-view'), await GalleryStore.open().catch(() => undefined), () => {
  grid.refreshAll();
  refreshSelected();
  training.summarise();
  map.recolour();
  report.refresh();
});
const query = new QueryView($('#query-view'), gallery, (card, label) => {
  card.label = label;
  session.update([card]);
});
grid.predict = (card) => {
  // A gallery image's own entry is left out: it would match itself at 1.00.
  const r = card.embedding && gallery.search(card.embedding, 1, card.galleryId);
  return r ? { label: r.label, score: r.score! } : undefined;
};

const queue = new EmbedQueue(
  session,
  // A chunk is one forward pass of the model's default batch size per worker of the pool.
  () => DEFAULT_LOAD_OPTIONS.batchSize * poolWorkers,
  (p) => {
    batchProgress.hidden = p.done >= p.total;
    batchProgress.value = p.total ? p.done / p.total : 1;
    const reused = p.reused
      ? ` ${p.reused} ${p.reused === 1 ? 'was' : 'were'} already in the gallery: ${p.reused === 1 ? 'its' : 'their'} stored vector${p.reused === 1 ? ' was' : 's were'} used, not embedded again.`
      : '';
    batchStatus.textContent = (p.done >= p.total ? settledText() : `Embedding ${p.done} of ${p.total}…`) + reused;
    models.perImage(p.msPerImage, session.done().length);
  },
  (cards) => {
    // Once in the gallery, an image's new embedding (another model) updates its entry: never a second entry.
    const forGallery = cards.filter((c) => c.toGallery && !c.galleryId);
    if (forGallery.length > 0) void gallery.add(forGallery);
    for (const c of cards) if (c.galleryId) void gallery.refreshFrom(c);
  },
  undefined,
  // An image already in the gallery (same bytes, same model) takes its stored vector: no second embedding.
  (file) => gallery.storedEmbedding(file),
);

/** The threshold's origin in a few words, for the gallery's threshold line. */
function thresholdSource(info: EmbedderInfo): string {
  return info.recognitionThresholdSource === 'manifest'
    ? 'calibrated for this model'
    : "PaddleClas's default; not calibrated for this model";
}

/** What the images came to, counted from the cards themselves (a failed image is not "embedded"). */
function settledText(): string {
  const n = session.cards.length;
  const failed = session.cards.filter((c) => c.status === 'error').length;
  if (n === 0) return '';
  return (
    `${n} image${n === 1 ? '' : 's'}: ${n - failed} embedded` +
    (failed ? `, ${failed} could not be read (see their cards).` : '.')
  );
}

session.subscribe((e) => {
  // Any change of the selected card (embedded, failed, requeued by a model change) redraws its panel.
  if (e.type === 'selected' || (e.type === 'updated' && session.selected && e.cards.includes(session.selected)))
    refreshSelected();
  if (e.type === 'removed') {
    // Taken off the page as near-duplicates: an entry made from one of them leaves the gallery too (the view
    // said so on its button), so the gallery holds the kept copy only.
    // A byte copy shares its entry with the image kept: an entry still held by a card stays.
    const ids = galleryEntriesLeaving(e.cards, galleryHolders([...session.cards, ...e.cards]));
    if (ids.length > 0) void gallery.remove(ids);
    refreshSelected();
    batchStatus.textContent = settledText();
  }
  if (e.type === 'added') {
    batchProgress.hidden = false;
    queue.kick();
    if (!session.selected) session.select(e.cards[0]);
  }
});

const MODEL_KEY = 'shitu-web.model';

/** The model and backend chosen last time, if that model is still offered. */
function rememberedChoice(): ModelChoice | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(MODEL_KEY) ?? 'null') as Partial<ModelChoice> | null;
    if (typeof saved?.model !== 'string' || !models.offers(saved.model)) return undefined;
    return { model: saved.model, backend: saved.backend ?? DEFAULT_LOAD_OPTIONS.backend };
  } catch {
    return undefined;
  }
}

/**
 * Loads a model and re-embeds everything with it. `byUser`: a choice in the model panel, which retires the
 * last import refusal and fine-tuning report (they were about the model in use before).
 */
async function switchTo(choice: ModelChoice, byUser = true): Promise<boolean> {
  backendChoice = choice.backend;
  if (byUser) {
    models.clearImportError();
    training.clearReport();
  }
  queue.setTarget(undefined);
  models.busy('Loading the model…');
  try {
    if (!embedder) {
      embedder = await createEmbedder({
        model: choice.model,
        backend: choice.backend,
        workers: 'auto',
        onProgress: (p) => models.loading(p),
      });
    } else {
      await embedder.load({ model: choice.model, backend: choice.backend }, (p) => models.loading(p));
    }
  } catch (e) {
    const hint = /no weight manifest|HTTP 404/.test((e as Error).message)
      ? ' No default model is installed: convert one into models/default (README, "Convert an official PaddleClas model").'
      : '';
    models.failed(`The model could not be loaded: ${(e as Error).message}.${hint}`);
    return false;
  }
  const info = await embedder.info();
  poolWorkers = info.workers?.max ?? 1;
  models.ready(info);
  localStorage.setItem(MODEL_KEY, JSON.stringify(choice));
  if (info.modelId !== modelId && modelId !== '') session.requeueAll(); // other weights: old vectors are not comparable
  modelId = info.modelId;
  gallery.setRecommendedThreshold(info.recognitionThreshold, thresholdSource(info));
  const e = embedder;
  gallery.setModel(modelId, (images) => e.embed(images), info.embeddingDim);
  report.refresh(); // the report covers the gallery's entries for this model
  queue.setTarget({ embed: (images) => e.embed(images) });
  refreshSelected();
  return true;
}

const models = new ModelView($('#model-section'), defaultModel, {
  switchTo,
  importFiles: async (files, role) => {
    if (!embedder) throw new Error('the worker is not running yet');
    return embedder.importModel(files, { role });
  },
  listStored: listStoredModels,
  deleteStored: deleteStoredModel,
});

const training = new TrainingPanel(
  $('#training-view'),
  session,
  {
    fineTune: (samples, options, onProgress) => {
      if (!embedder) throw new Error('the model is not loaded yet');
      return embedder.fineTune(samples, options, onProgress);
    },
    stop: async () => embedder?.stopFineTune(),
    use: async (model) => {
      await models.refreshList(model.url);
      await switchTo({ model: model.url, backend: backendChoice }, false);
    },
    files: (model) => readStoredModelFiles(model.url),
    exportAs: async (model, format) => {
      if (!embedder) throw new Error('the worker is not running yet');
      const files = await embedder.exportModel(model.url, format);
      return files.map((f) => [f.name, new Blob([f.bytes], { type: 'application/octet-stream' })]);
    },
    nameOf: (model) => models.describe(model),
  },
  () => gallery.withImages().map((g) => ({ image: g.image!, label: g.label, name: g.name })),
);

function addFiles(picked: readonly PickedFile[]): void {
  const intoGallery = toGallery.checked;
  session.add(
    picked.map((p) => ({
      file: p.file,
      // Folder drops often repeat file names (1.jpg in every class): the folder keeps them apart.
      name: p.label ? `${p.label}/${p.file.name}` : p.file.name,
      label: p.label,
      toGallery: intoGallery,
    })),
  );
}

const dropZone = $('#drop-zone');
for (const id of ['#file-input', '#folder-input']) {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('change', () => {
    addFiles(filesFromInput(input.files));
    input.value = '';
  });
}
for (const picker of document.querySelectorAll<HTMLLabelElement>('[data-picker]')) {
  picker.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      document.getElementById(picker.htmlFor)?.click();
    }
  });
}
// The whole page accepts drops, so a near miss does not open the image in the tab (and lose the session).
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropZone.classList.add('dragging');
});
document.addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) dropZone.classList.remove('dragging');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dropZone.classList.remove('dragging');
  void filesFromDrop(e.dataTransfer).then(routeDrop);
});

/**
 * A drop holding a model's files (its folder, or inference.pdmodel + inference.pdiparams, or an .onnx) is a
 * model import, not images: those files would only become broken image cards.
 */
function routeDrop(picked: readonly PickedFile[]): void {
  const model = picked.filter((p) => MODEL_FILE.test(p.file.name));
  if (model.length === 0) return addFiles(picked);
  void models.importModel(model.map((p) => p.file));
  const rest = picked.filter((p) => !MODEL_FILE.test(p.file.name) && p.file.type.startsWith('image/'));
  if (rest.length > 0) addFiles(rest);
}
document.addEventListener('paste', (e) => {
  const picked = filesFromPaste(e.clipboardData);
  if (picked.length > 0) {
    e.preventDefault();
    addFiles(picked);
  }
});

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-export]')) {
  button.addEventListener('click', () => {
    const rows = session.done().map((c) => ({ name: c.name, embedding: c.embedding! }));
    if (rows.length === 0) {
      batchStatus.textContent = 'Nothing to export yet: no image is embedded.';
      return;
    }
    const stem = `shitu-embeddings-${modelId}`;
    const kind = button.dataset.export;
    if (kind === 'json') download(`${stem}.json`, embeddingsToJson(rows, modelId), 'application/json');
    if (kind === 'csv') download(`${stem}.csv`, embeddingsToCsv(rows), 'text/csv');
    if (kind === 'npy')
      download(`${stem}.npy`, embeddingsToNpy(rows) as Uint8Array<ArrayBuffer>, 'application/octet-stream');
    batchStatus.textContent = `Exported ${rows.length} embeddings as ${kind}.`;
  });
}

$('#clear-images').addEventListener('click', () => {
  queue.reset();
  session.clear();
  thumbs.releaseAll();
  batchProgress.hidden = true;
  batchStatus.textContent = '';
  training.clearReport();
  refreshSelected();
});

await gallery.load();
await models.refreshList(defaultModel);
const remembered = rememberedChoice();
if (remembered) models.show(remembered);
// A remembered model that no longer loads (its files were removed from the cache) falls back to the default.
if (!remembered || !(await switchTo(remembered, false))) {
  const fallback: ModelChoice = { model: defaultModel, backend: remembered?.backend ?? DEFAULT_LOAD_OPTIONS.backend };
  models.show(fallback);
  await switchTo(fallback, false);
}
