/** Webhook secrets: stored as SHA-256, matched in constant time against one or two active hashes. */
import { describe, expect, it } from 'vitest';
import { generateHookSecret, hashHookSecret, matchesAnyHookSecret } from '../../shared/domain/hook-secrets.js';

const CURRENT = 'dev-okta-hook-secret-0000000000000000';
const NEXT = 'dev-okta-hook-secret-1111111111111111';

describe('hashHookSecret', () => {
  it('is the lowercase SHA-256 hex digest of the secret', () => {
    expect(hashHookSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('matchesAnyHookSecret', () => {
  const stored = [hashHookSecret(CURRENT), hashHookSecret(NEXT)];

  it('accepts the current secret during a rotation', () => {
    expect(matchesAnyHookSecret(CURRENT, stored)).toBe(true);
  });

  it('accepts the next secret during a rotation', () => {
    expect(matchesAnyHookSecret(NEXT, stored)).toBe(true);
  });

  it('accepts the only secret of a connection that is not rotating', () => {
    expect(matchesAnyHookSecret(CURRENT, [hashHookSecret(CURRENT)])).toBe(true);
  });

  it('refuses a wrong secret', () => {
    expect(matchesAnyHookSecret('dev-okta-hook-secret-2222222222222222', stored)).toBe(false);
  });

  it('refuses a secret that differs only in case or by surrounding spaces', () => {
    expect(matchesAnyHookSecret(CURRENT.toUpperCase(), stored)).toBe(false);
    expect(matchesAnyHookSecret(` ${CURRENT}`, stored)).toBe(false);
  });

  it('refuses the stored hash itself presented as the secret', () => {
    expect(matchesAnyHookSecret(stored[0], stored)).toBe(false);
  });

  it('refuses an empty secret, even when the empty string is what was hashed', () => {
    expect(matchesAnyHookSecret('', [...stored, hashHookSecret('')])).toBe(false);
  });

  it('refuses a missing secret', () => {
    expect(matchesAnyHookSecret(undefined, stored)).toBe(false);
  });

  it('refuses everything when no hash is stored', () => {
    expect(matchesAnyHookSecret(CURRENT, [])).toBe(false);
  });

  it.each([
    ['too short', 'abcd'],
    ['empty', ''],
    ['not hex', 'z'.repeat(64)],
    ['too long', hashHookSecret(CURRENT) + 'ab'],
  ])('neither throws nor matches on a stored hash that is %s, and still checks the others', (_case, broken) => {
    expect(() => matchesAnyHookSecret(CURRENT, [broken])).not.toThrow();
    expect(matchesAnyHookSecret(CURRENT, [broken])).toBe(false);
    expect(matchesAnyHookSecret(CURRENT, [broken, hashHookSecret(CURRENT)])).toBe(true);
  });

  it('accepts a stored hash written in uppercase hex', () => {
    expect(matchesAnyHookSecret(CURRENT, [hashHookSecret(CURRENT).toUpperCase()])).toBe(true);
  });
});

describe('generateHookSecret', () => {
  it('gives 43 url-safe characters (32 random bytes, base64url)', () => {
    const secret = generateHookSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
  });

  it('gives a different secret every call', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateHookSecret()));
    expect(secrets.size).toBe(50);
  });

  it('gives a secret that matches its own hash and no other', () => {
    const secret = generateHookSecret();
    expect(matchesAnyHookSecret(secret, [hashHookSecret(secret)])).toBe(true);
    expect(matchesAnyHookSecret(generateHookSecret(), [hashHookSecret(secret)])).toBe(false);
  });
});
