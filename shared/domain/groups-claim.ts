/**
 * The IdP groups as they arrive in a mapped Cognito attribute (default `custom:groups`).
 * Seen and documented forms (test/fixtures/groups-claim-formats.json):
 *   `[a, b]`            SAML multi-valued attribute; Cognito URL-form-encodes each value that
 *                       has characters other than letters, digits and . - * _ ("+" is a space)
 *   `["a","b"]`         an OIDC array claim, as JSON text
 *   `a` / `a,b`         a single value, or one the IdP joined with commas
 *   `` / `[]` / absent  no groups
 * Values are trimmed; empty ones and repeats are dropped; order is kept.
 */

/** Cognito keeps at most 2,048 characters of a mapped attribute value. */
export const COGNITO_ATTRIBUTE_LIMIT = 2048;

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value; // not valid percent-encoding: it was a literal "%"
  }
}

function cleaned(values: string[]): string[] {
  return [...new Set(values.map((value) => value.trim()).filter(Boolean))];
}

/** The complete quoted strings of a JSON array that was cut short (its last one is dropped later); undefined if one is not valid JSON text. */
function cutJsonStrings(inner: string): string[] | undefined {
  try {
    return [...inner.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(([quoted]) => JSON.parse(quoted) as string);
  } catch {
    return undefined; // a bad escape ("CORP\Admins") or a raw control character inside quotes
  }
}

function jsonStringArray(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The groups of a claim, or `unreadable` when it is quoted JSON text that does not parse: it then grants nothing. */
export type GroupsClaim = { groups: string[]; unreadable: boolean };

export function readGroupsClaim(raw: string | null | undefined): GroupsClaim {
  const text = raw?.trim() ?? '';
  if (text === '') return { groups: [], unreadable: false };
  // A list cut at the limit has lost its closing bracket.
  const inner = text.startsWith('[') ? text.slice(1, text.endsWith(']') ? -1 : undefined) : undefined;
  const groups =
    inner === undefined
      ? text.split(',')
      : (jsonStringArray(text) ?? (inner.trimStart().startsWith('"') ? cutJsonStrings(inner) : inner.split(',').map(formDecode)));
  if (groups === undefined) return { groups: [], unreadable: true };
  const parsed = cleaned(groups);
  // A value at the limit may have been cut short, and a cut group name could equal another,
  // shorter group ("Admins-ReadOnly" → "Admins"). Never grant from a possibly cut last value.
  return { groups: (raw?.length ?? 0) >= COGNITO_ATTRIBUTE_LIMIT ? parsed.slice(0, -1) : parsed, unreadable: false };
}

/** The groups of a claim; an unreadable one yields none. Never throws. */
export function parseGroupsClaim(raw: string | null | undefined): string[] {
  return readGroupsClaim(raw).groups;
}
