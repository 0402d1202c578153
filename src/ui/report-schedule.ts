/**
 * When the map, the report and the duplicates compute again: once changes settle (images arrive a chunk at a
 * time), but no later than `maxWaitMs` after the first while they keep coming; and one computation in flight at
 * a time, so a stream of changes never queues stale work in a worker (changes meanwhile ask for one more run).
 */

export class SettledRuns {
  private timer = 0;
  private firstChange = 0;
  private busy = false;
  private again = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly settleMs: number,
    private readonly maxWaitMs: number,
  ) {}

  /** A run is scheduled and has not started yet (a view is not "ready" then). */
  get due(): boolean {
    return this.timer !== 0;
  }

  /** Something changed: run once changes settle. */
  changed(): void {
    const now = performance.now();
    if (!this.timer) this.firstChange = now;
    clearTimeout(this.timer);
    const wait = Math.min(this.settleMs, Math.max(0, this.firstChange + this.maxWaitMs - now));
    this.timer = window.setTimeout(() => {
      this.timer = 0;
      void this.start();
    }, wait);
  }

  private async start(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      await this.run();
    } finally {
      this.busy = false;
    }
    if (this.again) {
      this.again = false;
      this.changed();
    }
  }
}
