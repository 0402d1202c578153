/**
 * "Run when called directly": a script's main() runs when node was asked to run that file, not when a test
 * imports it. Compares file paths, not URL strings: `file://${argv[1]}` differs from import.meta.url as soon as
 * the path holds a space or any other character a URL escapes.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function canonical(path: string): string {
  try {
    return realpathSync(path); // symlinked checkouts (node_modules/.bin, /tmp on macOS) compare equal
  } catch {
    return resolve(path);
  }
}

export function isMain(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  return argv1 !== undefined && canonical(fileURLToPath(moduleUrl)) === canonical(argv1);
}

/** Runs `main` if this module is the script node was asked to run; a failure prints its message and exits 1. */
export function runIfMain(
  moduleUrl: string,
  main: () => Promise<unknown>,
  exitCode: (e: unknown) => number = () => 1,
): void {
  if (!isMain(moduleUrl)) return;
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(exitCode(e));
  });
}
