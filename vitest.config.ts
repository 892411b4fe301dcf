import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/fast-check-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real nats-servers and node processes; two cores, so keep files moderate.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
