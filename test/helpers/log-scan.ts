/**
 * Issue 12, part 5: no secret in any log line. test/setup.ts installs this in every test file:
 * the handlers log at DEBUG, every JSON line they write (Powertools: stdout and stderr) is kept,
 * and after the file the lines are searched for every secret the file used and for anything
 * shaped like a token. The request helpers (okta.ts, graph.ts, admin.ts, secrets.ts) register
 * what they send and receive, so a secret made during a test (a hook secret the admin API
 * returns, an access token) is searched for too, also in lines written before it was known.
 */
import { afterAll, expect } from 'vitest';
import { leaksIn } from '../../scripts/lib/log-scan.js';

export { leaksIn, registerSecret, registerSecretHeaders, registerSecretsIn, type Leak } from '../../scripts/lib/log-scan.js';

const lines: string[] = [];

/** The JSON log lines written so far in this test file. */
export function capturedLogLines(): readonly string[] {
  return lines;
}

/** Lets go of the lines captured so far, once they have been searched (the fuzz runs, every so often). */
export function dropCapturedLogLines(): void {
  lines.length = 0;
}

type Write = typeof process.stdout.write;

/**
 * Keeps every JSON line written to stdout or stderr. They are passed on only when asked for
 * (LOG_LEVEL set: someone wants to read them); other output always is.
 */
export function captureLogOutput(passThrough: boolean): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as Write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const written = text.split('\n').filter(Boolean);
      const json = written.filter((line) => line.startsWith('{'));
      lines.push(...json);
      if (passThrough || json.length < written.length) return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as Write;
  }
}

/** After the file: no captured line may hold a secret or a token. */
export function failOnLeaksAfterFile(): void {
  afterAll(() => {
    expect(leaksIn(lines), 'log lines of this test file hold secrets or tokens').toEqual([]);
  });
}
