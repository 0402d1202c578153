/**
 * Files from every way in: a drop (files and whole folders), the file and folder pickers, and a paste.
 * A file inside a folder gets its parent folder's name as label (folder-per-class, as PaddleClas's
 * gallery lists are usually built). Operating-system clutter is skipped; anything else is kept, so an
 * unreadable file shows its own error instead of vanishing. Files come out in path order, numbers compared
 * as numbers (image_2 before image_10), whatever order the browser listed them in: the cards, the matrix
 * and the gallery then read like the folder does in a file manager.
 */

export interface PickedFile {
  readonly file: File;
  /** The parent folder's name, or '' for a loose file. */
  readonly label: string;
}

const CLUTTER = /^(\.|thumbs\.db$|desktop\.ini$)/i;

export function labelFromPath(relativePath: string): string {
  const parts = relativePath.split('/').filter(Boolean);
  return parts.length >= 2 ? parts[parts.length - 2]! : '';
}

const collator = new Intl.Collator(undefined, { numeric: true });

/** Natural path order, folder by folder: "b/x" after "a/z", "a/image_2" before "a/image_10". */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = collator.compare(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function keep(name: string): boolean {
  return !CLUTTER.test(name);
}

/** Picker input (with or without `webkitdirectory`). */
export function filesFromInput(list: ArrayLike<File> | null): PickedFile[] {
  const path = (f: File) => f.webkitRelativePath || f.name;
  return Array.from(list ?? [])
    .filter((f) => keep(f.name))
    .sort((a, b) => comparePaths(path(a), path(b)))
    .map((file) => ({ file, label: labelFromPath(file.webkitRelativePath || '') }));
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call: keep asking until it returns none.
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(out);
        else {
          out.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, parent: string, out: PickedFile[]): Promise<void> {
  if (!keep(entry.name)) return;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, label: parent });
  } else if (entry.isDirectory) {
    const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
    children.sort((a, b) => comparePaths(a.name, b.name));
    for (const child of children) await walk(child, entry.name, out);
  }
}

/**
 * A drop. Must be called synchronously inside the 'drop' handler: the browser empties the DataTransfer's
 * items once the event returns, so the entries are taken first and read afterwards.
 */
export function filesFromDrop(data: DataTransfer | null): Promise<PickedFile[]> {
  if (!data) return Promise.resolve([]);
  const entries = [...data.items].filter((i) => i.kind === 'file').map((i) => i.webkitGetAsEntry?.() ?? null);
  const loose = [...data.files];
  return (async () => {
    if (entries.length === 0 || entries.some((e) => e === null)) return filesFromInput(loose);
    const out: PickedFile[] = [];
    for (const e of [...entries].sort((a, b) => comparePaths(a!.name, b!.name))) await walk(e!, '', out);
    return out;
  })();
}

/** A paste: screenshots arrive as "image.png", so each gets a distinct name. */
export function filesFromPaste(data: DataTransfer | null, now = new Date()): PickedFile[] {
  const files = [...(data?.files ?? [])];
  const stamp = now.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return files.map((f, i) => {
    const ext = f.type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'png';
    const generic = /^image\.\w+$/i.test(f.name) || f.name === '';
    const name = generic ? `pasted-${stamp}${files.length > 1 ? `-${i + 1}` : ''}.${ext}` : f.name;
    return { file: generic ? new File([f], name, { type: f.type }) : f, label: '' };
  });
}
