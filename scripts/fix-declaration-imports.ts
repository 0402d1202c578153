/**
 * node --import tsx scripts/fix-declaration-imports.ts dist/lib
 *
 * tsc keeps the source's `./x.ts` specifiers in the .d.ts files it emits; consumers resolve `./x.js` to
 * `./x.d.ts` in every module mode, so relative specifiers are rewritten. Also writes shitu-web.d.ts next to
 * the bundle, so `import ... from './shitu-web.js'` is typed.
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
await writeFile(join(lib, 'shitu-web.d.ts'), "export * from './types/lib.js';\n");
console.log(`${files} declaration files in ${lib}/types; wrote ${lib}/shitu-web.d.ts`);
