/**
 * Main-thread long tasks (over 50 ms) as the browser reports them: recorded from the page's first script, read
 * back by time. The smoothness tests hold the page under LONG_TASK_LIMIT_MS.
 */
import type { Page } from '@playwright/test';

export const LONG_TASK_LIMIT_MS = 100;

export interface LongTask {
  readonly start: number;
  readonly duration: number;
}

declare global {
  interface Window {
    __longTasks: LongTask[];
  }
}

/** Call before the page opens: every long task from then on is kept in the page. */
export async function recordLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** The long tasks that ended at or after `since` (the page's performance.now()). */
export function longTasksSince(page: Page, since: number): Promise<LongTask[]> {
  return page.evaluate((t) => window.__longTasks.filter((e) => e.start + e.duration >= t), since);
}

/** The page's performance.now(). */
export const pageNow = (page: Page): Promise<number> => page.evaluate(() => performance.now());

export const longest = (tasks: readonly LongTask[]): number => Math.max(0, ...tasks.map((t) => t.duration));
