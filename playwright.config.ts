import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './test/support/chromium.ts';

// Browser tests run against Debian's Chromium (no browser download is possible here); CHROMIUM_PATH overrides.
export default defineConfig({
  testDir: 'test/browser',
  globalSetup: './test/browser/global-setup.ts',
  workers: 1,
  timeout: 120_000,
  use: {
    baseURL: 'http://localhost:5199',
    launchOptions: chromiumLaunchOptions(),
  },
  webServer: {
    command: 'npx vite --port 5199 --strictPort',
    url: 'http://localhost:5199',
    reuseExistingServer: !process.env.CI,
  },
});
