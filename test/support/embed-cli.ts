/** Runs `npm run embed`'s main() in the test process and keeps what it writes. */
import { main, type CliOutput } from '../../scripts/embed.ts';

/** An output that keeps its text; `onWrite` sees the whole text after each write. */
export function collector(onWrite?: (text: string) => void): CliOutput & { text: string } {
  return {
    text: '',
    isTTY: false,
    write(s: string) {
      this.text += s;
      onWrite?.(this.text);
    },
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** main(args) to its exit code and both outputs; `abortAfterLines`: abort once stdout holds that many lines. */
export async function runEmbedCli(args: readonly string[], abortAfterLines?: number): Promise<CliRun> {
  const controller = new AbortController();
  const stdout = collector((text) => {
    if (abortAfterLines !== undefined && text.split('\n').length - 1 >= abortAfterLines) controller.abort();
  });
  const stderr = collector();
  const code = await main([...args], { stdout, stderr }, { signal: controller.signal });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
