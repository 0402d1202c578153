/** Export of all embeddings as JSON, CSV and .npy: the files' contents agree, with names, 512 values each. */
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { openPage, photo, waitSettled } from './support/page.ts';

async function exported(page: Page, kind: 'json' | 'csv' | 'npy'): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-${kind}`).click()]);
  return { name: download.suggestedFilename(), bytes: await readFile((await download.path())!) };
}

test('JSON, CSV and .npy exports carry the same vectors under the file names', async ({ page }) => {
  await openPage(page);
  const names = ['cat-view-1.jpg', 'coffee.jpg', 'rocket.jpg'];
  await page.getByTestId('file-input').setInputFiles(names.map(photo));
  await waitSettled(page, 3);

  const json = await exported(page, 'json');
  expect(json.name).toBe('shitu-embeddings-pplcnet-x1_0-distilled-caltech60.json');
  const parsed = JSON.parse(json.bytes.toString('utf8')) as {
    model: string;
    dim: number;
    embeddings: { name: string; embedding: number[] }[];
  };
  expect(parsed.model).toBe('pplcnet-x1_0-distilled-caltech60');
  expect(parsed.dim).toBe(512);
  expect(parsed.embeddings.map((e) => e.name)).toEqual(names);
  for (const e of parsed.embeddings) {
    expect(e.embedding).toHaveLength(512);
    expect(Math.hypot(...e.embedding)).toBeCloseTo(1, 4);
  }

  const csv = (await exported(page, 'csv')).bytes.toString('utf8').trimEnd().split('\r\n');
  expect(csv).toHaveLength(4);
  expect(csv[0]!.split(',')).toHaveLength(513);
  expect(csv[0]!.startsWith('name,e0,e1,')).toBe(true);
  csv.slice(1).forEach((line, i) => {
    const [name, ...values] = line.split(',');
    expect(name).toBe(names[i]);
    expect(values.map(Number)).toEqual(
      parsed.embeddings[i]!.embedding.map((v) => Number(Math.fround(v).toPrecision(9))),
    );
  });

  const npy = (await exported(page, 'npy')).bytes;
  expect(npy.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const headerLength = npy.readUInt16LE(8);
  const header = npy.subarray(10, 10 + headerLength).toString('latin1');
  expect(header).toContain("('embedding', '<f4', (512,))");
  expect(header).toContain("'shape': (3,)");
  const nameChars = Number(/'<U(\d+)'/.exec(header)![1]);
  const record = nameChars * 4 + 512 * 4;
  expect(npy.length).toBe(10 + headerLength + 3 * record);
  names.forEach((name, i) => {
    const start = 10 + headerLength + i * record;
    const chars = Array.from({ length: nameChars }, (_, k) => npy.readUInt32LE(start + k * 4)).filter((c) => c !== 0);
    expect(String.fromCodePoint(...chars)).toBe(name);
    const first = npy.readFloatLE(start + nameChars * 4);
    expect(first).toBe(Math.fround(parsed.embeddings[i]!.embedding[0]!));
  });
});
