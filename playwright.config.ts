import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './test/support/chromium.ts';

// Browser tests run against Debian's Chromium (no browser download is possible here); CHROMIUM_PATH overrides.
// PLAYWRIGHT_PORT lets two runs on one machine each start their own dev server.
const port = Number(process.env.PLAYWRIGHT_PORT ?? 5199);

export default defineConfig({
  testDir: 'test/browser',
  globalSetup: './test/browser/global-setup.ts',
  workers: 1,
  timeout: 120_000,
  use: {
    baseURL: `http://localhost:${port}`,
    launchOptions: chromiumLaunchOptions(),
  },
  webServer: {
    command: `npx vite --port ${port} --strictPort`,
    url: `http://localhost:${port}`,
    reuseExistingServer: !process.env.CI,
  },
});
