import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Says once that browser tests are skipped on a machine without Chromium (fails under CI).
    globalSetup: ['test/setup/browser.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite is single-threaded WASM; two cores: keep the pool small.
    maxWorkers: 2,
  },
});
