import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COGNITO_ATTRIBUTE_LIMIT, parseGroupsClaim, readGroupsClaim } from '../../shared/domain/groups-claim.js';
import { fixture } from '../helpers/fixtures.js';

type Case = { name: string; raw: string | null; expected: string[] };
const { cases } = fixture<{ cases: Case[] }>('groups-claim-formats.json');

describe('parseGroupsClaim', () => {
  it.each(cases.map((c) => [c.name, c] as const))('parses the %s form', (_name, { raw, expected }) => {
    expect(parseGroupsClaim(raw)).toEqual(expected);
  });

  it('trims, drops empty values and repeats, and keeps the order', () => {
    expect(parseGroupsClaim('  b , a,, b ,  ')).toEqual(['b', 'a']);
  });

  it('keeps a literal % that is not percent-encoding', () => {
    expect(parseGroupsClaim('[100%, Sales]')).toEqual(['100%', 'Sales']);
  });

  it('does not grant from a last value that may have been cut at the attribute limit', () => {
    const names = Array.from({ length: 400 }, (_, index) => `Group-${index}`);
    const raw = `[${names.join(', ')}]`.slice(0, COGNITO_ATTRIBUTE_LIMIT);
    const parsed = parseGroupsClaim(raw);
    const cutLast = raw.slice(raw.lastIndexOf(',') + 1).trim();
    expect(parsed.length).toBeGreaterThan(100);
    expect(parsed).not.toContain(cutLast);
    expect(names.slice(0, parsed.length)).toEqual(parsed);
  });

  it('keeps the complete names of a JSON array cut at the attribute limit, without their quotes', () => {
    const names = Array.from({ length: 400 }, (_, index) => `Group-${index}`);
    const raw = JSON.stringify(names).slice(0, COGNITO_ATTRIBUTE_LIMIT);
    const parsed = parseGroupsClaim(raw);
    expect(parsed.length).toBeGreaterThan(100);
    expect(parsed).toEqual(names.slice(0, parsed.length));
  });

  it('does not read a cut JSON array past a bad escape before the cut', () => {
    const raw = `["Finance-Approvers","x\\", "Payroll-Admins", ${JSON.stringify(Array.from({ length: 400 }, (_, index) => `Group-${index}`)).slice(1)}`.slice(0, COGNITO_ATTRIBUTE_LIMIT);
    expect(readGroupsClaim(raw)).toEqual({ groups: [], unreadable: true });
  });

  const groupName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._&/-]{0,30}[A-Za-z0-9]$/);
  const groupList = fc.uniqueArray(groupName, { minLength: 1, maxLength: 10 });

  it('reads back the same list from every encoding an IdP and Cognito produce', () => {
    const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
    fc.assert(
      fc.property(groupList, (groups) => {
        expect(parseGroupsClaim(JSON.stringify(groups))).toEqual(groups);
        expect(parseGroupsClaim(`[${groups.map(formEncode).join(', ')}]`)).toEqual(groups);
        expect(parseGroupsClaim(`[${groups.join(', ')}]`)).toEqual(groups);
        if (groups.every((group) => !group.includes(','))) expect(parseGroupsClaim(groups.join(','))).toEqual(groups);
      }),
    );
  });
});

describe('readGroupsClaim: a claim that cannot be read', () => {
  it.each([
    ['bad escapes in a bracketed JSON list', '["CORP\\Admins,CORP\\Users"]'],
    ['an unknown escape', '["IdP-Admins\\q"]'],
    ['a raw newline inside quotes', '["Finance\nApprovers"]'],
    // Found by the trigger fuzzing (issue 12): the unterminated last string was dropped and the first one granted.
    ['an escaped closing quote, so the last string never ends', '["Finance-Approvers","quote\\"]'],
    ['a JSON list that is not cut but lost its closing bracket', '["Finance-Approvers","Payroll-Admins"'],
  ])('grants nothing and says so, never throws: %s', (_name, raw) => {
    expect(() => readGroupsClaim(raw)).not.toThrow();
    expect(readGroupsClaim(raw)).toEqual({ groups: [], unreadable: true });
    expect(parseGroupsClaim(raw)).toEqual([]);
  });

  it('never throws on any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (raw) => {
      expect(Array.isArray(parseGroupsClaim(raw))).toBe(true);
    }));
  });
});
