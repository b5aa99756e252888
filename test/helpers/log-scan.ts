/**
 * Issue 12, part 5: no secret in any log line. test/setup.ts installs this in every test file:
 * the handlers log at DEBUG, every JSON line they write (Powertools: stdout and stderr) is kept,
 * and after the file the lines are searched for every secret the file used and for anything
 * shaped like a token. The request helpers (okta.ts, graph.ts, admin.ts, secrets.ts) register
 * what they send and receive, so a secret made during a test (a hook secret the admin API
 * returns, an access token) is searched for too, also in lines written before it was known.
 */
import { afterAll, expect } from 'vitest';

const secrets = new Set<string>();
const lines: string[] = [];

/** Shorter values would match by chance; every secret the tests use is longer. */
const MIN_SECRET_LENGTH = 8;

/** Token shapes no log line may hold, whoever issued them. */
const TOKEN_SHAPES: { name: string; pattern: RegExp }[] = [
  // A JWT: two base64url JSON segments ("eyJ" is '{"') and a signature (Cognito access and ID tokens).
  { name: 'a JWT', pattern: /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/ },
  // The local fake Graph's access tokens.
  { name: 'a Graph access token', pattern: /fake-graph-token-[0-9a-f-]{36}/ },
  { name: 'an Authorization header value', pattern: /\b(?:Bearer|SSWS|Basic)\s+[A-Za-z0-9._~+/=-]{12,}/ },
];

/** Field names whose string values are credentials, in requests, answers and fixtures. */
const SECRET_FIELD = /secret|token|password|clientstate|api_?key|authorization/i;

export function registerSecret(...values: (string | null | undefined)[]): void {
  for (const value of values) if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** Names, references and digests of secrets, not secrets: `clientSecretRef`, `hookSecretSha256`, `clientStateHashes`. */
const NOT_A_SECRET_FIELD = /(?:Ref|Sha256|Hashes|Name|Names|Count|Header)$/;

/** Registers every string held by a credential-named field (`client_secret: "…"`, `hookSecrets: ["…"]`), at any depth. */
export function registerSecretsIn(value: unknown): void {
  if (Array.isArray(value)) {
    for (const entry of value) registerSecretsIn(entry);
  } else if (value && typeof value === 'object') {
    for (const [field, entry] of Object.entries(value)) {
      const holdsSecret = SECRET_FIELD.test(field) && !NOT_A_SECRET_FIELD.test(field);
      if (holdsSecret && typeof entry === 'string') registerSecret(entry);
      else if (holdsSecret && Array.isArray(entry) && entry.every((item) => typeof item === 'string')) registerSecret(...(entry as string[]));
      else registerSecretsIn(entry);
    }
  }
}

/** Every header value whose name says it carries a credential (`authorization`, `x-okta-secret`, …). */
export function registerSecretHeaders(headers: Record<string, string | undefined> | undefined): void {
  for (const [name, value] of Object.entries(headers ?? {})) if (SECRET_FIELD.test(name) || /secret|auth/i.test(name)) registerSecret(value);
}

export type Leak = { what: string; line: string };

/** The lines that hold a registered secret or a token shape, with it masked (the report must not leak either). */
export function leaksIn(logLines: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  for (const line of logLines) {
    for (const secret of secrets) {
      if (line.includes(secret)) leaks.push({ what: `a secret starting "${secret.slice(0, 4)}…"`, line: line.split(secret).join('[SECRET]').slice(0, 400) });
    }
    for (const { name, pattern } of TOKEN_SHAPES) {
      if (pattern.test(line)) leaks.push({ what: name, line: line.replace(new RegExp(pattern.source, 'g'), '[TOKEN]').slice(0, 400) });
    }
  }
  return leaks;
}

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
