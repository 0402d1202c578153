/** The ESLint layering rule (eslint.config.js) refuses imports against the layout's direction. */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const lint = new ESLint();

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await lint.lintText(code, { filePath: file });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('eslint layering rule', () => {
  it('core imports nothing of ours outside core, and no tfjs', async () => {
    expect(
      await restricted(
        'src/core/x.ts',
        "import { buildPPLCNet } from '../model/builder.ts';\nexport const a = buildPPLCNet;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted('src/core/x.ts', "import * as tf from '@tensorflow/tfjs-core';\nexport const a = tf;\n"),
    ).toHaveLength(1);
    expect(
      await restricted(
        'src/core/x.ts',
        "import { cosineSimilarity } from './similarity.ts';\nexport const a = cosineSimilarity;\n",
      ),
    ).toHaveLength(0);
  });

  it('the page and the element never reach into the model', async () => {
    expect(
      await restricted(
        'src/ui/x.ts',
        "import { buildPPLCNet } from '../model/builder.ts';\nexport const a = buildPPLCNet;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted(
        'src/ui/x.ts',
        "import { createEmbedder } from '../worker/client.ts';\nexport const a = createEmbedder;\n",
      ),
    ).toHaveLength(0);
  });

  it('the worker does not import views; the model does not import the worker', async () => {
    expect(
      await restricted(
        'src/worker/x.ts',
        "import { ImageGrid } from '../ui/image-grid.ts';\nexport const a = ImageGrid;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted(
        'src/model/x.ts',
        "import { EmbedderEngine } from '../worker/embedder-engine.ts';\nexport const a = EmbedderEngine;\n",
      ),
    ).toHaveLength(1);
  });
});
