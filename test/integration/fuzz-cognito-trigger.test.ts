/**
 * Issue 12, part 3: fuzzing the Cognito triggers against a reference model of the admission rules.
 * Each case is one new federated person (an Okta or Entra provider of the seed, or one nobody
 * configured) with a random email and groups claim, written in every format the claim comes in
 * (JSON array, bracketed SAML list with Cognito's form encoding, comma list, one value; cut at
 * Cognito's 2,048-character limit; malformed escapes; the documented captures; random text),
 * through every trigger source in turn: PreSignUp_ExternalProvider, then PostConfirmation_ConfirmSignUp
 * or PostAuthentication_Authentication, then a TokenGeneration_* event of version 1, 2 or 3 whose
 * groupsToOverride may name managed role groups the person was never given.
 *
 * Each step either admits or throws a message meant for the person (never the "temporarily
 * unavailable" answer of an internal error, for a well-formed event with storage working), and
 * never admits what the model refuses; a first sign-in admits exactly the accounts the model does,
 * with the model's role, and the token carries exactly those role groups.
 *
 * The model (`modelAdmission`), written from the rules as the README states them: an account admits
 * a person when its SSO config is active, lists the provider they came through, allows their
 * email's domain, and maps one of their IdP groups (Entra group ids without regard to case) to a
 * role; the role is the highest of the matched ones (Admin > Author > Reviewer > Viewer).
 *
 * A case of a trigger, for `npm run fuzz`'s count, is one call of the handler with a trigger source
 * of it (PreSignUp_ExternalProvider; PostConfirmation_ConfirmSignUp; PostAuthentication_Authentication;
 * PreTokenGeneration: any TokenGeneration_* source, versions 1–3). The full run: the model property
 * 5,000 first sign-ins and 5,000 returning ones (each calls PreSignUp, one sign-in trigger and token
 * generation), and the any-shape property 6,000 events per sign-in trigger and 1,000 of the others;
 * every call is counted under the trigger source the handler actually received.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededTable, testSeed } from '../helpers/stack.js';
import { createFederatedUser, createUserPool } from '../helpers/cognito.js';
import { fixture } from '../helpers/fixtures.js';
import { invokeTrigger, type TriggerEvent } from '../helpers/trigger.js';
import { countCase, fuzzRuns, reportFuzzTally } from '../helpers/fuzz.js';
import { failOnUnhandledRejections, fuzzTimeout } from '../helpers/fuzz-http.js';
import { mutated } from '../helpers/fuzz-bodies.js';
import { findUserIdByEmail, membershipsOfUser } from '../../shared/store/directory.js';

const ROLE_ORDER = ['Admin', 'Author', 'Reviewer', 'Viewer'] as const;
const INTERNAL_ERROR = 'Sign-in is temporarily unavailable. Please try again in a moment.';
const CLAIM_LIMIT = 2048;
const ENTRA_GROUP_1 = '00000000-0000-4000-8000-0000000d2001';
const ENTRA_GROUP_2 = '00000000-0000-4000-8000-0000000d2002';
const ENTRA_GROUP_3 = '00000000-0000-4000-8000-0000000d2003';

type Provider = { name: string; connectionId: string | undefined; type: 'okta' | 'entra' };
const PROVIDERS: Provider[] = [
  { name: 'OktaA', connectionId: 'okta-a', type: 'okta' },
  { name: 'OktaB', connectionId: 'okta-b', type: 'okta' },
  { name: 'OktaC', connectionId: 'okta-c', type: 'okta' },
  { name: 'OktaD', connectionId: 'okta-d', type: 'okta' },
  { name: 'EntraA', connectionId: 'entra-a', type: 'entra' },
  { name: 'OktaZ', connectionId: undefined, type: 'okta' },
];

/** The reference model: account id → role for each account that admits; `undefined` when the email has no domain. */
function modelAdmission(provider: Provider, email: string | undefined, groups: readonly string[]): Map<string, string> {
  const admitted = new Map<string, string>();
  if (!provider.connectionId) return admitted;
  const trimmed = email?.trim() ?? '';
  const at = trimmed.lastIndexOf('@');
  if (at <= 0) return admitted;
  const domain = trimmed.slice(at + 1).toLowerCase();
  const same = (a: string, b: string) => (provider.type === 'entra' ? a.toLowerCase() === b.toLowerCase() : a === b);
  for (const account of testSeed.accounts) {
    const config = account.ssoConfig;
    if (!config.active) continue;
    if (!config.allowedDomains.some((allowed) => allowed.toLowerCase() === domain)) continue;
    const roles = config.providers
      .filter((p) => p.providerName === provider.name && p.connectionId === provider.connectionId)
      .flatMap((p) => p.groups)
      .filter((grant) => groups.some((group) => same(group, grant.group)))
      .map((grant) => grant.role as (typeof ROLE_ORDER)[number]);
    const best = ROLE_ORDER.find((role) => roles.includes(role));
    if (best) admitted.set(account.id, best);
  }
  return admitted;
}

/** Cognito's form encoding of one value of a multi-valued attribute: all but letters, digits and . - * _ encoded, a space as "+". */
function formEncoded(value: string): string {
  return [...value].map((char) => (/[A-Za-z0-9.\-*_]/.test(char) ? char : char === ' ' ? '+' : encodeURIComponent(char))).join('');
}

/** A groups claim as sent, and the groups the model reads from it (what the IdP meant). */
type Claim = { raw: string | undefined; groups: string[]; format: string; exact: boolean };

const GROUP_NAMES = ['Finance-Approvers', 'Payroll-Admins', 'finance-approvers', 'Finance Approvers', 'Everyone', 'R&D/Labs', ENTRA_GROUP_1, ENTRA_GROUP_1.toUpperCase(), ENTRA_GROUP_2, ENTRA_GROUP_3, 'Admins'];
const groupName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...GROUP_NAMES) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) });
const meaningful = (groups: string[]) => [...new Set(groups.map((group) => group.trim()).filter(Boolean))];

const claim: fc.Arbitrary<Claim> = fc.oneof(
  fc.array(groupName, { maxLength: 5 }).map((groups) => ({ raw: JSON.stringify(groups), groups: meaningful(groups), format: 'json array', exact: true })),
  fc.array(groupName, { minLength: 1, maxLength: 5 }).map((groups) => ({ raw: `[${groups.map(formEncoded).join(', ')}]`, groups: meaningful(groups), format: 'bracket list', exact: true })),
  fc
    .array(groupName.filter((group) => !group.includes(',') && !group.trimStart().startsWith('[')), { minLength: 1, maxLength: 5 })
    .map((groups) => ({ raw: groups.join(','), groups: meaningful(groups), format: 'comma list', exact: true })),
  // Cut at Cognito's limit: the last value may be a cut name, so the model trusts all but it.
  fc.array(groupName, { minLength: 1, maxLength: 3 }).map((groups) => {
    const raw = `[${[...Array.from({ length: 120 }, (_, index) => `Padding-Group-${index}`), ...groups.map(formEncoded)].join(', ')}`.slice(0, CLAIM_LIMIT);
    const values = raw.slice(1).split(', ').map((value) => decodeURIComponent(value.replace(/\+/g, ' ')));
    return { raw, groups: meaningful(values.slice(0, -1)), format: 'bracket list cut at 2,048', exact: true };
  }),
  // Malformed escapes: quoted JSON text that does not parse grants nothing.
  fc
    .tuple(fc.array(groupName, { maxLength: 3 }), fc.constantFrom('CORP\\Admins', 'bad\\x41', '\\u12', 'tab\there', 'quote\\'), fc.nat(3))
    .map(([groups, bad, at]) => {
      const quoted = groups.map((group) => JSON.stringify(group));
      quoted.splice(at % (quoted.length + 1), 0, `"${bad}"`);
      return { raw: `[${quoted.join(',')}]`, groups: [], format: 'malformed escape', exact: true };
    }),
  fc
    .constantFrom(...fixture<{ cases: { raw: string | null; expected: string[] }[] }>('groups-claim-formats.json').cases)
    .map(({ raw, expected }) => ({ raw: raw ?? undefined, groups: expected, format: 'documented capture', exact: true })),
  // Anything at all: the model cannot read it, so only "never admits without a granting name in it" is checked.
  fc.string({ unit: 'binary', maxLength: 80 }).map((raw) => ({ raw, groups: [], format: 'random text', exact: false })),
);

const email = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('alex', 'a.b', 'Sam.Lee').map((local) => `${local}@example.com`) },
  fc.tuple(fc.constantFrom('alex', 'a.b+tag', 'x', '"quoted@local"', 'ünï'), fc.constantFrom('example.com', 'EXAMPLE.COM', 'Example.Com', 'example.org', 'sub.example.com', 'example.com.evil.io', 'exämple.com', 'example.com ', 'evil.io')).map(([local, domain]) => `${local}@${domain}`),
  fc.constantFrom(undefined, '', 'no-at-sign', '@example.com', 'alex@', ' alex@example.com ', 'evil.io@example.com', 'a@example.com@evil.io'),
  fc.string({ maxLength: 30 }),
);

const TOKEN_SOURCES = ['TokenGeneration_HostedAuth', 'TokenGeneration_Authentication', 'TokenGeneration_NewPasswordChallenge', 'TokenGeneration_AuthenticateDevice', 'TokenGeneration_RefreshTokens'];

const scenario = fc.record({
  provider: fc.constantFrom(...PROVIDERS),
  email,
  claim,
  firstSignIn: fc.boolean(),
  lowerCasedUserName: fc.boolean(),
  tokenSource: fc.constantFrom(...TOKEN_SOURCES),
  tokenVersion: fc.constantFrom('1', '2', '3'),
  forgedGroups: fc.subarray(['acme:Admin', 'globex:Viewer', 'initech:Admin', 'contoso:Author', 'us-east-1_X_OktaA', 'acme:Root']),
  extraAttributes: fc.dictionary(fc.constantFrom('given_name', 'custom:other', 'locale', 'custom:oid2'), fc.string({ maxLength: 20 }), { maxKeys: 2 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

let userPoolId: string;
beforeAll(async () => {
  await createSeededTable();
  userPoolId = await createUserPool();
});
failOnUnhandledRejections();
reportFuzzTally('fuzz-cognito-trigger');

/** The trigger a source belongs to, as the handler reads it (functions/cognito-trigger.ts). */
function triggerOf(source: unknown): string {
  if (source === 'PreSignUp_ExternalProvider') return 'cognito PreSignUp';
  if (source === 'PostConfirmation_ConfirmSignUp') return 'cognito PostConfirmation';
  if (source === 'PostAuthentication_Authentication') return 'cognito PostAuthentication';
  if (typeof source === 'string' && source.startsWith('TokenGeneration_')) return 'cognito PreTokenGeneration';
  return 'cognito other trigger source';
}

/** One call of the trigger handler, counted under its trigger. */
function invokeCounted(event: TriggerEvent): Promise<TriggerEvent> {
  countCase(triggerOf((event as { triggerSource?: unknown } | null)?.triggerSource));
  return invokeTrigger(event);
}

/** How the cases ended, printed for a FUZZ_RUNS run (to see that the properties were not vacuous). */
const tally = new Map<string, number>();
const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);
afterAll(() => {
  if (process.env.FUZZ_RUNS) console.info('trigger outcomes', Object.fromEntries([...tally].sort()));
});

let people = 0;
/** The scenario's email made this case's own (a tag before the last "@"), so every case is a new person. */
function ownEmail(value: string | undefined): string | undefined {
  const at = value?.lastIndexOf('@') ?? -1;
  if (value === undefined || at <= 0) return value;
  people += 1;
  return `${value.slice(0, at)}+f${people}${value.slice(at)}`;
}

/** One person of the scenario: their Cognito user name, identities and attributes. */
function personOf(s: Scenario, email: string | undefined) {
  const idpUserId = s.provider.type === 'entra' ? crypto.randomUUID() : `00u${crypto.randomUUID().replace(/-/g, '').slice(0, 17)}`;
  const prefix = s.lowerCasedUserName ? s.provider.name.toLowerCase() : s.provider.name;
  const userName = `${prefix}_${idpUserId}`;
  const identities = JSON.stringify([{ userId: idpUserId, providerName: s.provider.name, providerType: s.provider.type === 'entra' ? 'SAML' : 'OIDC', issuer: null, primary: true, dateCreated: 1 }]);
  const attributes: Record<string, string> = { ...s.extraAttributes, sub: crypto.randomUUID(), identities, 'cognito:user_status': 'EXTERNAL_PROVIDER' };
  if (email !== undefined) attributes.email = email;
  if (s.claim.raw !== undefined) attributes['custom:groups'] = s.claim.raw;
  if (s.provider.type === 'entra') attributes['custom:oid'] = idpUserId;
  return { userName, attributes };
}

function triggerEvent(source: string, version: string, person: ReturnType<typeof personOf>, groupConfiguration?: TriggerEvent['request']['groupConfiguration']): TriggerEvent {
  return {
    version,
    triggerSource: source,
    userPoolId,
    userName: person.userName,
    request: { userAttributes: { ...person.attributes }, ...(groupConfiguration ? { groupConfiguration } : {}) },
    response: source.startsWith('TokenGeneration_') ? { claimsOverrideDetails: null } : {},
  };
}

/** The step's outcome: admitted (with the returned event) or refused with the message the person sees. */
async function outcome(event: TriggerEvent): Promise<{ admitted: true; event: TriggerEvent } | { admitted: false; message: string }> {
  try {
    return { admitted: true, event: await invokeCounted(event) };
  } catch (error) {
    expect(error, 'a refusal is an Error').toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message, 'an internal error for a well-formed event').not.toBe(INTERNAL_ERROR);
    return { admitted: false, message };
  }
}

/** For text the model cannot read: the granting group names that appear in it, raw or form-decoded (a superset of what any reading yields). */
function namesIn(raw: string | undefined): string[] {
  if (!raw) return [];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    // not percent-encoded text
  }
  const text = `${raw}\n${decoded}`.toLowerCase();
  return GROUP_NAMES.filter((name) => text.includes(name.toLowerCase()));
}

function tokenGroupsOf(event: TriggerEvent): string[] | undefined {
  const response = event.response as { claimsOverrideDetails?: { groupOverrideDetails?: { groupsToOverride?: string[] } }; claimsAndScopeOverrideDetails?: { groupOverrideDetails?: { groupsToOverride?: string[] } } } | null;
  return (response?.claimsOverrideDetails ?? response?.claimsAndScopeOverrideDetails)?.groupOverrideDetails?.groupsToOverride;
}

const MANAGED = /^[A-Za-z0-9][\w.-]*:(Admin|Author|Reviewer|Viewer)$/;

describe('Cognito triggers, fuzzed against a model of the admission rules', () => {
  it.each([
    { signIn: 'a first sign-in', firstSignIn: true },
    { signIn: 'a returning sign-in', firstSignIn: false },
  ])('every trigger source admits only whom the model admits, with its roles, or refuses with a message for the person ($signIn)', async ({ firstSignIn }) => {
    await fc.assert(
      fc.asyncProperty(scenario.map((generated) => ({ ...generated, firstSignIn })), async (s) => {
        const email = ownEmail(s.email);
        const person = personOf(s, email);
        const model = modelAdmission(s.provider, email, s.claim.exact ? s.claim.groups : namesIn(s.claim.raw));
        const described = `${s.provider.name} ${JSON.stringify(email)} ${s.claim.format} ${JSON.stringify(s.claim.raw)?.slice(0, 200)} → model ${JSON.stringify([...model])}`;

        // PreSignUp_ExternalProvider: nothing written; refuse early whom no account admits.
        const signUp = await outcome(triggerEvent('PreSignUp_ExternalProvider', '1', person));
        if (signUp.admitted) expect(model.size, `PreSignUp admitted: ${described}`).toBeGreaterThan(0);
        else if (s.claim.exact) expect(model.size, `PreSignUp refused (${signUp.message}): ${described}`).toBe(0);

        // PostConfirmation (first sign-in) or PostAuthentication: a new person, so nothing held by rule 8.
        if (email?.includes('@')) await createFederatedUser(userPoolId, person.userName, email.trim()).catch(() => undefined);
        const source = s.firstSignIn ? 'PostConfirmation_ConfirmSignUp' : 'PostAuthentication_Authentication';
        const signIn = await outcome(triggerEvent(source, '1', person));
        count(`${signUp.admitted ? 'signUp admitted' : 'signUp refused'}, ${signIn.admitted ? 'signIn admitted' : `signIn refused: ${signIn.message.slice(0, 40)}`}`);
        const userId = s.provider.connectionId && email?.includes('@') ? await findUserIdByEmail(s.provider.connectionId, email.trim().toLowerCase()) : undefined;
        const active = userId ? (await membershipsOfUser(userId)).filter((m) => m.status === 'active') : [];
        const held = new Map(active.map((m) => [m.accountId, m.role as string]));
        if (signIn.admitted) {
          expect(model.size, `${source} admitted: ${described}`).toBeGreaterThan(0);
          if (s.claim.exact) expect(held, `${source} memberships: ${described}`).toEqual(model);
        } else if (s.claim.exact) {
          expect(model.size, `${source} refused (${signIn.message}): ${described}`).toBe(0);
        }
        for (const [accountId, role] of held) expect(model.get(accountId), `${source} gave ${accountId}:${role}: ${described}`).toBe(role);

        // TokenGeneration_*: the managed role groups are exactly the person's active memberships, whatever the request asked for.
        const forged = { groupsToOverride: [...s.forgedGroups], iamRolesToOverride: [], preferredRole: null };
        const token = await outcome(triggerEvent(s.tokenSource, s.tokenVersion, person, forged));
        count(token.admitted ? 'token issued' : `token refused: ${token.message.slice(0, 40)}`);
        const wanted = [...held].map(([accountId, role]) => `${accountId}:${role}`).sort();
        if (token.admitted) {
          const groups = tokenGroupsOf(token.event) ?? [];
          expect(groups.filter((group) => MANAGED.test(group)).sort(), `${s.tokenSource} v${s.tokenVersion} groups: ${described}`).toEqual(wanted);
        } else {
          // Refused only where the provider is not set up, or on a refresh of a person with no access.
          const expected = !s.provider.connectionId || (s.tokenSource === 'TokenGeneration_RefreshTokens' && wanted.length === 0);
          expect(expected, `${s.tokenSource} refused (${token.message}): ${described}`).toBe(true);
        }
      }),
      { numRuns: fuzzRuns(20, 5_000) },
    );
  }, fuzzTimeout(fuzzRuns(20, 5_000), 1_000));

  it.each([
    { trigger: 'PostConfirmation', sources: ['PostConfirmation_ConfirmSignUp'], full: 6_000 },
    { trigger: 'PostAuthentication', sources: ['PostAuthentication_Authentication'], full: 6_000 },
    { trigger: 'the others', sources: ['PreSignUp_ExternalProvider', ...TOKEN_SOURCES, 'TokenGeneration_Other', 'CustomMessage_SignUp'], full: 1_000 },
  ])('an event of any shape (wrong types, missing and extra fields) gets an answer or a message for the person, never an internal text ($trigger)', async ({ sources, full }) => {
    const event = fc.constantFrom(...sources).chain((source) =>
      mutated(() => {
        const person = personOf({ provider: PROVIDERS[0]!, extraAttributes: {}, lowerCasedUserName: false, claim: { raw: '["Finance-Approvers"]', groups: [], format: '', exact: true } } as unknown as Scenario, ownEmail('alex@example.com'));
        return triggerEvent(source, '2', person, { groupsToOverride: ['acme:Admin'], iamRolesToOverride: [], preferredRole: null }) as never;
      }),
    );
    await fc.assert(
      fc.asyncProperty(event, async ({ document }) => {
        try {
          await invokeCounted(document as never);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          const message = (error as Error).message;
          // What Cognito shows the person: a sentence of ours, never a parser's or the SDK's words.
          expect(message, JSON.stringify(document).slice(0, 300)).not.toMatch(/zod|invalid_type|expected (string|object|array)|TypeError|Cannot read|undefined|\[object|Unexpected token|at \w+ \(/i);
          expect(message.length).toBeLessThan(400);
        }
      }),
      { numRuns: fuzzRuns(sources.length > 1 ? 20 : 10, full) },
    );
  }, fuzzTimeout(fuzzRuns(20, 6_000), 500));
});
