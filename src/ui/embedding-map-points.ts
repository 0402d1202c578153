/**
 * The embedding map's per-image work, done a time slice per task so that 5,000 images never block the page:
 * each image's class (which may search the gallery) and its test hook, one light element per image with
 * data-name, data-x, data-y (the layout's own coordinates) and data-label.
 */
import { nextTask } from './report-compute.ts';

/** Work per task before yielding: well under the 50 ms that makes a long task. */
const SLICE_MS = 8;

/** `fn` over every item, yielding every SLICE_MS; undefined when `current()` turned false meanwhile. */
export async function mapSliced<T, R>(
  items: readonly T[],
  fn: (item: T, i: number) => R,
  current: () => boolean,
): Promise<R[] | undefined> {
  const out: R[] = [];
  let start = performance.now();
  for (let i = 0; i < items.length; i++) {
    out.push(fn(items[i]!, i));
    if (performance.now() - start > SLICE_MS) {
      await nextTask();
      if (!current()) return undefined;
      start = performance.now();
    }
  }
  return out;
}

export interface PointHook {
  readonly name: string;
  readonly index: number;
  readonly x: number;
  readonly y: number;
  readonly label: string;
}

/** Rewrites the list to one `li` per point; false when superseded before the end. */
export async function writePointHooks(
  list: HTMLElement,
  points: readonly PointHook[],
  current: () => boolean,
): Promise<boolean> {
  const items = [...list.children] as HTMLElement[];
  const done = await mapSliced(
    points,
    (p, i) => {
      let li = items[i];
      if (!li) {
        li = document.createElement('li');
        list.append(li);
      }
      li.dataset.name = p.name;
      li.dataset.index = String(p.index);
      li.dataset.x = String(p.x);
      li.dataset.y = String(p.y);
      li.dataset.label = p.label;
    },
    current,
  );
  if (!done) return false;
  for (let i = items.length - 1; i >= points.length; i--) items[i]!.remove();
  return true;
}
