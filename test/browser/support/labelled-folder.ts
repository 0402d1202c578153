/**
 * A labelled image folder made on the fly (one subfolder per label), as a first-time user brings one:
 * small PNGs, each distinct (a label's colour, a per-image stripe), so embeddings differ and labels cluster.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';

export interface LabelledFolder {
  /** The folder to give the folder picker. */
  readonly root: string;
  /** Card names (label/file) in natural path order: what the page should list. */
  readonly names: string[];
}

function image(label: number, k: number, size: number): Buffer {
  const png = new PNG({ width: size, height: size });
  const hue = (label * 37) % 360;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      // The label's colour scheme, a diagonal pattern per label, a stripe whose place and width say which image.
      const stripe = Math.abs(x - ((k * 7) % size)) < 2 + (k % 4);
      const pattern = ((x + label * y) >> 2) % 2 === 0;
      const [r, g, b] = hsl(hue, 0.7, stripe ? 0.2 : pattern ? 0.55 : 0.8);
      png.data[i] = r;
      png.data[i + 1] = g;
      png.data[i + 2] = b;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/**
 * `labels` (give them sorted) folders of `perLabel` images named image_1.png … image_N.png (unpadded, so only a natural sort
 * puts image_2 before image_10), written in reverse order so the picker's order is not already sorted.
 */
export async function writeLabelledFolder(
  labels: readonly string[],
  perLabel: number,
  size = 40,
): Promise<LabelledFolder> {
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-folder-')), 'photos');
  const names: string[] = [];
  for (const [l, label] of labels.entries()) {
    await mkdir(join(root, label), { recursive: true });
    for (let k = perLabel; k >= 1; k--) await writeFile(join(root, label, `image_${k}.png`), image(l, k, size));
    for (let k = 1; k <= perLabel; k++) names.push(`${label}/image_${k}.png`);
  }
  return { root, names };
}
