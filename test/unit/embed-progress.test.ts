/**
 * `npm run embed`'s progress on stderr (scripts/lib/embed-progress.ts): plain lines for logs, every 10 % or every
 * 5 s, and one at the end; one line rewritten in place on a terminal; the rate counts only this run's images.
 */
import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, type CliOutput } from '../../scripts/lib/embed-progress.ts';

function sink(isTTY: boolean): CliOutput & { text: string } {
  return {
    text: '',
    isTTY,
    columns: 100,
    write(s: string) {
      this.text += s;
    },
  };
}

describe('embed progress', () => {
  it('writes a plain line every 10 % when not on a terminal, with rate, ETA and failures', () => {
    let t = 0;
    const out = sink(false);
    const progress = createProgress(out, { total: 100, now: () => t });
    for (let done = 1; done <= 100; done++) {
      t += 100; // 10 images/s
      progress.update(done, done >= 50 ? 2 : 0);
    }
    progress.end();
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('embedded 10 / 100 (10%), 10.0 images/s, ETA 9 s');
    expect(lines[4]).toBe('embedded 50 / 100 (50%), 10.0 images/s, ETA 5 s, 2 failed');
    expect(lines[9]).toBe('embedded 100 / 100 (100%), 10.0 images/s, 2 failed');
    expect(out.text).not.toContain('\r');
  });

  it('writes one every 5 s when 10 % takes longer, and gives the ETA in minutes', () => {
    let t = 0;
    const out = sink(false);
    const progress = createProgress(out, { total: 1000, now: () => t });
    for (let done = 1; done <= 30; done++) {
      t += 1000; // 1 image/s: 10 % would take 100 s
      progress.update(done, 0);
    }
    expect(out.text.trim().split('\n')).toEqual([
      'embedded 5 / 1000 (0%), 1.0 images/s, ETA 16:35',
      'embedded 10 / 1000 (1%), 1.0 images/s, ETA 16:30',
      'embedded 15 / 1000 (1%), 1.0 images/s, ETA 16:25',
      'embedded 20 / 1000 (2%), 1.0 images/s, ETA 16:20',
      'embedded 25 / 1000 (2%), 1.0 images/s, ETA 16:15',
      'embedded 30 / 1000 (3%), 1.0 images/s, ETA 16:10',
    ]);
  });

  it('counts a resumed run from where it starts: the rate is of the images it embeds', () => {
    let t = 0;
    const out = sink(false);
    const progress = createProgress(out, { total: 100, done: 60, now: () => t });
    t = 2000;
    progress.update(70, 0);
    expect(out.text).toBe('embedded 70 / 100 (70%), 5.0 images/s, ETA 6 s\n');
  });

  it('rewrites one line on a terminal, clears it before other output and ends it with a newline', () => {
    let t = 0;
    const out = sink(true);
    const progress = createProgress(out, { total: 120, now: () => t });
    t = 4000;
    progress.update(40, 3);
    expect(out.text).toBe('\r\x1b[2K[#######.............] 40/120  33%  10.0 images/s  ETA 8 s  3 failed');
    out.text = '';
    progress.clear();
    expect(out.text).toBe('\r\x1b[2K');
    out.text = '';
    progress.update(120, 3);
    progress.end();
    expect(out.text.startsWith('\r\x1b[2K[####################] 120/120  100%  ')).toBe(true);
    expect(out.text.endsWith(' images/s  3 failed\n')).toBe(true);
  });

  it('formats durations as seconds, m:ss and h:mm:ss', () => {
    expect([formatDuration(7.4), formatDuration(75), formatDuration(3725), formatDuration(Infinity)]).toEqual([
      '7 s',
      '1:15',
      '1:02:05',
      '?',
    ]);
  });
});
