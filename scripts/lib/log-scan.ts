/**
 * Issue 12, part 5: no secret in any log line. The secrets a run used are registered here and
 * every captured log line is searched for them and for anything shaped like a token. Used by the
 * tests (test/helpers/log-scan.ts captures each test file's lines) and by `npm run chaos` (the
 * local stack's output).
 */
const secrets = new Set<string>();

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

