/**
 * The layout says what ships: `src/core` imports nothing of the project's other layers, `src/model` only core,
 * `src/worker` model and core, the page and the element only core and the worker client; and no shipped file
 * imports test support, fixtures or scripts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file, as paths from the repository root. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) =>
    relative(ROOT, resolve(dirname(file), m[1]!)),
  );
}

const ALLOWED: Record<string, readonly string[]> = {
  'src/core': ['src/core'],
  'src/model': ['src/core', 'src/model'],
  'src/worker': ['src/core', 'src/model', 'src/worker'],
  'src/ui': ['src/core', 'src/ui', 'src/worker/client.ts', 'src/worker/model-store.ts'],
  'src/element': ['src/core', 'src/element', 'src/ui', 'src/worker/client.ts'],
};

describe('imports point one way', () => {
  for (const file of files(SRC)) {
    const rel = relative(ROOT, file);
    const layer = Object.keys(ALLOWED).find((l) => rel.startsWith(`${l}/`));
    it(rel, () => {
      for (const target of imports(file)) {
        expect(target.startsWith('test/') || target.startsWith('scripts/'), `${rel} imports ${target}`).toBe(false);
        if (layer)
          expect(
            ALLOWED[layer]!.some((a) => target === a || target.startsWith(`${a}/`)),
            `${rel} imports ${target}`,
          ).toBe(true);
      }
    });
  }
});

describe('core has no import cycles', () => {
  const core = files(join(SRC, 'core')).map((f) => relative(ROOT, f));
  const edges = new Map(core.map((f) => [f, imports(join(ROOT, f)).filter((t) => t.startsWith('src/core/'))]));
  it('not even type-only ones (the worker API imports both the embedder and the fine-tuning API)', () => {
    const cycles: string[] = [];
    const walk = (f: string, path: string[]) => {
      if (path.includes(f)) return void cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
      for (const t of edges.get(f) ?? []) walk(t, [...path, f]);
    };
    for (const f of core) walk(f, []);
    expect(cycles).toEqual([]);
  });
});
