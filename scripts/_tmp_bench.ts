import { EmbedderEngine } from '../src/worker/embedder-engine.ts';
import { nodeEnvironment, nodeWasmFeatures } from '../src/worker/node-environment.ts';
import { syntheticImages } from './lib/synthetic-pixels.ts';
const images = syntheticImages(32).map((p, i) => ({ name: `s${i}`, image: p as unknown as ImageData }));
for (const backend of process.argv.slice(2) as ('wasm'|'cpu')[]) {
  const engine = new EmbedderEngine(nodeEnvironment(undefined, { wasm: true }));
  const info = await engine.load({ backend });
  console.log(info.backend, info.loadMs.toFixed(0), await nodeWasmFeatures());
  for (let rep = 0; rep < 2; rep++) {
    const t0 = performance.now();
    const r = await engine.embed(images);
    const s = (performance.now() - t0) / 1000;
    console.log(backend, rep, (32 / s).toFixed(2), 'img/s', r.every((x) => x.ok));
  }
  await engine.dispose();
}
