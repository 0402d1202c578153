/**
 * node --import tsx scripts/fix-declaration-imports.ts dist/lib
 *
 * tsc keeps the source's `./x.ts` specifiers in the .d.ts files it emits; consumers resolve `./x.js` to
 * `./x.d.ts` in every module mode, so relative specifiers are rewritten. Also writes a .d.ts beside each
 * entry of the bundle (index.js, element.js, shitu-web.js), so package.json's `types` conditions and
 * `import ... from './shitu-web.js'` are typed.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

async function* declarations(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarations(path);
    else if (entry.name.endsWith('.d.ts')) yield path;
  }
}

const lib = process.argv[2] ?? 'dist/lib';
let files = 0;
for await (const file of declarations(join(lib, 'types'))) {
  const text = await readFile(file, 'utf8');
  const fixed = text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) await writeFile(file, fixed);
  files++;
}
/** Each entry of vite.lib.config.ts and the declaration tsc wrote for its source. */
const ENTRIES = { index: 'index', element: 'element/index', 'shitu-web': 'lib' } as const;
for (const [entry, source] of Object.entries(ENTRIES)) {
  await writeFile(join(lib, `${entry}.d.ts`), `export * from './types/${source}.js';\n`);
}
console.log(
  `${files} declaration files in ${lib}/types; wrote ${Object.keys(ENTRIES)
    .map((e) => `${e}.d.ts`)
    .join(', ')}`,
);
