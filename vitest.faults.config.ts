import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: fault-injection runs against real server processes on PostgreSQL
 * (LIEN_TEST_DATABASE_URL). Separate from the suite: they kill processes and connections and
 * take minutes.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
