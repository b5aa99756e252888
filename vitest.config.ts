import { defineConfig } from 'vitest/config';
import { extraCaBundleWithFakeGraph } from './scripts/lib/extra-ca.js';

// The local fake Graph serves HTTPS (@azure/identity refuses a plain-http login endpoint) with a
// test-only certificate. Node reads extra CAs only at start-up, so they are set here, before the
// test workers start; they inherit it.
process.env.NODE_EXTRA_CA_CERTS = extraCaBundleWithFakeGraph();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores here: more workers only queue on DynamoDB Local.
    maxWorkers: 2,
  },
});
