import { defineConfig } from 'vitest/config';

// Three layers of the test pyramid. e2e spawns the built gateway (npm test builds first)
// and real downstream servers, so it gets generous timeouts for a loaded 2-core machine.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
