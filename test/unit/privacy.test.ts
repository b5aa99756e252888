/** Emails in logs are masked; emails used as keys are normalised the same way everywhere. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskEmail, normaliseEmail } from '../../shared/domain/privacy.js';

describe('maskEmail', () => {
  it('keeps the first character and the domain', () => {
    expect(maskEmail('alex.doe@example.com')).toBe('a***@example.com');
  });

  it('masks a one-character local part the same way', () => {
    expect(maskEmail('a@example.com')).toBe('a***@example.com');
  });

  it('splits at the last @ so a quoted local part with @ in it stays hidden', () => {
    expect(maskEmail('"alex@home"@example.com')).toBe('"***@example.com');
  });

  it.each(['', 'not-an-email', '@example.com'])('gives only *** for %j, which has no local part to show', (value) => {
    expect(maskEmail(value)).toBe('***');
  });

  it('never shows the local part beyond its first character', () => {
    const localPart = fc.string({ minLength: 2, maxLength: 30 }).filter((local) => !local.includes('@'));
    const domain = fc.domain();
    fc.assert(
      fc.property(localPart, domain, (local, host) => {
        const masked = maskEmail(`${local}@${host}`);
        expect(masked).toBe(`${local[0]}***@${host}`);
        // Between the first character and the @ there is only the mask, whatever the local part was.
        expect(masked.slice(1, masked.lastIndexOf('@'))).toBe('***');
      }),
    );
  });

  it('never returns more of any string than its first character outside the last @ and what follows', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        const masked = maskEmail(value);
        const at = value.lastIndexOf('@');
        if (at <= 0) expect(masked).toBe('***');
        else expect(masked).toBe(`${value[0]}***${value.slice(at)}`);
      }),
    );
  });
});

describe('normaliseEmail', () => {
  it('lowercases and trims', () => {
    expect(normaliseEmail('  Alex.Doe@Example.COM\t')).toBe('alex.doe@example.com');
  });

  it('leaves a normalised email unchanged', () => {
    expect(normaliseEmail('riley.chen@example.com')).toBe('riley.chen@example.com');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(normaliseEmail(normaliseEmail(value))).toBe(normaliseEmail(value));
      }),
    );
  });
});
