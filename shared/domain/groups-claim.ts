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

/**
 * A JSON array of strings cut short at the attribute limit: the longest prefix that ends after a
 * complete string and parses, closed with "]" (its last value is dropped later). Parsing the whole
 * prefix, not picking quoted strings out of it, keeps a bad escape anywhere from shifting which
 * quotes open a string: undefined when no such prefix parses.
 */
function cutJsonArray(text: string): string[] | undefined {
  let end = text.lastIndexOf('"');
  for (let tries = 0; end > 0 && tries < 64; tries += 1, end = text.lastIndexOf('"', end - 1)) {
    const parsed = jsonStringArray(`${text.slice(0, end + 1)}]`);
    if (parsed) return parsed;
  }
  return undefined;
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
  // Quoted JSON that does not parse is read as a list cut short only when it may have been cut (at
  // the limit); otherwise it is malformed (an unescaped quote or backslash) and grants nothing.
  const mayBeCut = (raw?.length ?? 0) >= COGNITO_ATTRIBUTE_LIMIT;
  const groups =
    inner === undefined
      ? text.split(',')
      : (jsonStringArray(text) ?? (inner.trimStart().startsWith('"') ? (mayBeCut ? cutJsonArray(text) : undefined) : inner.split(',').map(formDecode)));
  if (groups === undefined) return { groups: [], unreadable: true };
  const parsed = cleaned(groups);
  // A value at the limit may have been cut short, and a cut group name could equal another,
  // shorter group ("Admins-ReadOnly" → "Admins"). Never grant from a possibly cut last value.
  return { groups: mayBeCut ? parsed.slice(0, -1) : parsed, unreadable: false };
}

/** The groups of a claim; an unreadable one yields none. Never throws. */
export function parseGroupsClaim(raw: string | null | undefined): string[] {
  return readGroupsClaim(raw).groups;
}
