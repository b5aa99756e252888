import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook secrets are long random strings we generate, so a fast SHA-256 is enough to keep
 * them out of the table in clear; a slow password hash would eat Okta's 3-second budget.
 */
export function hashHookSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** A new secret: 32 random bytes, base64url (43 characters). */
export function generateHookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * True when the presented value hashes to one of the stored hashes (two are allowed during
 * rotation). Every stored hash is compared, in constant time, whatever matched first.
 */
export function matchesAnyHookSecret(presented: string | undefined, storedHashes: readonly string[]): boolean {
  if (presented === undefined || presented === '') return false;
  const presentedHash = Buffer.from(hashHookSecret(presented), 'hex');
  let matched = false;
  for (const storedHex of storedHashes) {
    // Buffer.from(hex) silently stops at the first non-hex character: accept only a whole digest.
    if (!SHA256_HEX.test(storedHex)) continue;
    if (timingSafeEqual(Buffer.from(storedHex, 'hex'), presentedHash)) matched = true;
  }
  return matched;
}
