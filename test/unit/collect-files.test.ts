/** Picked files come out in natural path order, whatever order the browser listed them in. */
import { describe, expect, it } from 'vitest';
import { comparePaths, filesFromInput } from '../../src/ui/collect-files.ts';

/** A picked file as the folder picker gives it: Node's File has no webkitRelativePath, so it is added. */
function picked(path: string): File {
  const file = new File([new Uint8Array([1])], path.split('/').pop()!, { type: 'image/png' });
  Object.defineProperty(file, 'webkitRelativePath', { value: path });
  return file;
}

describe('comparePaths', () => {
  it('compares numbers as numbers and folders before their contents', () => {
    const paths = ['a/image_10.jpg', 'a/image_2.jpg', 'b/image_1.jpg', 'a/image_1.jpg', 'a2/x.jpg', 'a/sub/z.jpg'];
    expect([...paths].sort(comparePaths)).toEqual([
      'a/image_1.jpg',
      'a/image_2.jpg',
      'a/image_10.jpg',
      'a/sub/z.jpg',
      'a2/x.jpg',
      'b/image_1.jpg',
    ]);
  });
});

describe('filesFromInput', () => {
  it('sorts a folder pick by path (image_2 before image_10), labels by folder and skips clutter', () => {
    const files = [
      'root/pizza/image_10.png',
      'root/burger/image_2.png',
      'root/pizza/.DS_Store',
      'root/pizza/image_2.png',
      'root/burger/image_10.png',
      'root/pizza/Thumbs.db',
    ].map(picked);
    const out = filesFromInput(files);
    expect(out.map((p) => `${p.label}/${p.file.name}`)).toEqual([
      'burger/image_2.png',
      'burger/image_10.png',
      'pizza/image_2.png',
      'pizza/image_10.png',
    ]);
  });

  it('sorts loose files by name', () => {
    const files = ['b.png', 'a10.png', 'a9.png'].map((n) => new File([new Uint8Array([1])], n));
    expect(filesFromInput(files).map((p) => [p.file.name, p.label])).toEqual([
      ['a9.png', ''],
      ['a10.png', ''],
      ['b.png', ''],
    ]);
  });
});
