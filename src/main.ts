/**
 * The page's entry. A deliberately plain first page over the public API: drop or pick images, see each
 * embedding's size, norm and first values. The full tool (vectors, similarity matrix, gallery) builds on it.
 */
import type { EmbeddingResult } from './core/embedder-api.ts';
import { createEmbedder, type Embedder } from './worker/client.ts';

const status = document.querySelector<HTMLParagraphElement>('#model-status')!;
const progress = document.querySelector<HTMLProgressElement>('#model-progress')!;
const dropZone = document.querySelector<HTMLLabelElement>('#drop-zone')!;
const fileInput = document.querySelector<HTMLInputElement>('#file-input')!;
const list = document.querySelector<HTMLOListElement>('#results')!;

function show(result: EmbeddingResult): void {
  const li = document.createElement('li');
  li.dataset.testid = 'image-card';
  li.dataset.name = result.name;
  li.dataset.status = result.ok ? 'done' : 'error';
  if (result.ok) {
    const norm = Math.hypot(...result.embedding);
    const head = Array.from(result.embedding.slice(0, 6), (v) => v.toFixed(4)).join(', ');
    li.textContent = `${result.name}: ${result.embedding.length}-d, norm ${norm.toFixed(4)} [${head}, …]`;
  } else {
    li.textContent = `${result.name}: ${result.error.message}`;
  }
  list.append(li);
}

async function main(): Promise<void> {
  let embedder: Embedder;
  try {
    embedder = await createEmbedder({
      onProgress: (p) => {
        if (p.stage === 'download' && p.total > 0) progress.value = p.done / p.total;
        if (p.stage === 'compile') status.textContent = 'Preparing the model…';
      },
    });
  } catch (e) {
    const hint = /no weight manifest|HTTP 404/.test((e as Error).message)
      ? ' No default model is installed: convert one into models/default (README, "Convert an official PaddleClas model").'
      : '';
    status.textContent = `The model could not be loaded: ${(e as Error).message}.${hint}`;
    return;
  }
  const info = await embedder.info();
  progress.value = 1;
  status.textContent = `${info.modelId} (PP-LCNet x${info.scale}, ${info.embeddingDim}-d) on ${info.backend}, loaded in ${Math.round(info.loadMs)} ms.`;
  const embedFiles = async (files: File[]) => {
    if (files.length > 0) for (const r of await embedder.embed(files)) show(r);
  };
  fileInput.addEventListener('change', () => void embedFiles([...(fileInput.files ?? [])]));
  dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    dropZone.classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('dragging');
    void embedFiles([...(e.dataTransfer?.files ?? [])]);
  });
}

void main();
