import { defineConfig } from 'vitest/config';

/**
 * Shared by every package's vitest.config.ts. Integration tests run real ffmpeg, Redis and onnxruntime,
 * so timeouts are generous; each package also writes a JSON report that `npm test` totals at the end.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-artifacts/vitest-report.json' },
  },
});
