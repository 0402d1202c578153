/**
 * `npm run embed`'s progress, always on stderr. On a terminal: one line rewritten in place,
 *   [#########...........] 40/120  33%  12.3 images/s  ETA 0:07  3 failed
 * elsewhere (a log, CI): a plain line every few seconds or every 10 %, whichever comes first, and one at the end,
 *   embedded 40 / 120 (33%), 12.3 images/s, ETA 7 s, 3 failed
 * The rate counts the images this run embedded; images taken from a --resume journal count as done at start.
 */

/** Where the command writes: process.stdout / stderr, or a test's collector. */
export interface CliOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  readonly total: number;
  /** Done before this run started (resumed). */
  readonly done?: number;
  /** A plain line at least this often (ms). Default 5000. */
  readonly intervalMs?: number;
  /** ... and each time this many percent more are done. Default 10. */
  readonly stepPercent?: number;
  readonly now?: () => number;
}

export interface ProgressReporter {
  update(done: number, failed: number): void;
  /** Clears the in-place line before other output, so the two never mix on one terminal line. */
  clear(): void;
  end(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function createProgress(out: CliOutput, options: ProgressOptions): ProgressReporter {
  const { total, intervalMs = 5000, stepPercent = 10, now = () => performance.now() } = options;
  const start = options.done ?? 0;
  const startedAt = now();
  let lastLineAt = startedAt;
  let lastStep = Math.floor(((start / total) * 100) / stepPercent);
  let shown = false;

  const stats = (done: number) => {
    const seconds = (now() - startedAt) / 1000;
    const rate = seconds > 0 ? (done - start) / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    return { rate, eta, percent: Math.floor((done / total) * 100) };
  };

  return {
    update(done, failed) {
      const { rate, eta, percent } = stats(done);
      if (out.isTTY) {
        const width = 20;
        const filled = Math.round((done / total) * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
        const etaText = done < total ? `  ETA ${formatDuration(eta)}` : '';
        const line = `${bar} ${done}/${total}  ${percent}%  ${rate.toFixed(1)} images/s${etaText}${failed ? `  ${failed} failed` : ''}`;
        out.write(`\r\x1b[2K${line.slice(0, Math.max(20, (out.columns || 120) - 1))}`);
        shown = true;
        return;
      }
      const step = Math.floor(percent / stepPercent);
      if (done < total && step === lastStep && now() - lastLineAt < intervalMs) return;
      lastStep = step;
      lastLineAt = now();
      const etaText = done < total ? `, ETA ${formatDuration(eta)}` : '';
      out.write(
        `embedded ${done} / ${total} (${percent}%), ${rate.toFixed(1)} images/s${etaText}${failed ? `, ${failed} failed` : ''}\n`,
      );
    },
    clear() {
      if (shown) out.write('\r\x1b[2K');
      shown = false;
    },
    end() {
      if (shown) out.write('\n');
      shown = false;
    },
  };
}
