/** The JSON log lines the handlers write (Powertools: INFO to stdout, WARN/ERROR to stderr), captured for a test file. */
import { afterAll, beforeAll, vi } from 'vitest';

export function captureLogLines(): string[] {
  const lines: string[] = [];
  beforeAll(() => {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
        const text = chunk.toString();
        if (text.startsWith('{')) lines.push(...text.split('\n').filter(Boolean));
        // On to the capture every test file has (test/setup.ts), which keeps JSON lines out of the output.
        return write(chunk);
      }) as typeof stream.write);
    }
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });
  return lines;
}
