import { defineConfig } from 'vitest/config';

// Three layers of the test pyramid, one project each, so a developer can run the fast layer
// alone: unit (pure modules, no build, no processes), integration (in process, real
// downstream fixtures), e2e (spawns the built gateway: `npm run test:e2e` and `npm test`
// build first). The generous timeouts are for a loaded 2-core machine.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['tests/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'] } },
    ],
  },
});
