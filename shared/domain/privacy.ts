/** "alex.doe@example.com" → "a***@example.com": enough to recognise, not enough to harvest. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** Emails are matched lowercased and trimmed everywhere (users, identities, events). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
