/**
 * A plain static file server for the built outputs (dist/app, dist/lib): serves `root` under `mount`
 * (e.g. '/some/deep/path/') so tests check that a build works from any path, and optionally answers with CORS
 * or a Content-Security-Policy header.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

export interface StaticServerOptions {
  readonly mount?: string;
  readonly cors?: boolean;
  /** Extra headers on every response (e.g. a Content-Security-Policy, which workers take from their script's). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface StaticServer {
  readonly origin: string;
  /** origin + mount */
  readonly url: string;
  close(): Promise<void>;
}

export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const mount = options.mount ?? '/';
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers: Record<string, string> = options.cors ? { 'access-control-allow-origin': '*' } : {};
    if (!path.startsWith(mount)) {
      res.writeHead(404, headers).end('not under the mount point');
      return;
    }
    let file = normalize(join(root, path.slice(mount.length)));
    if (!file.startsWith(normalize(root))) {
      res.writeHead(403, headers).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, { ...headers, 'content-type': type, ...options.headers }).end(body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('static server has no port');
  const origin = `http://127.0.0.1:${address.port}`;
  return {
    origin,
    url: `${origin}${mount}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
