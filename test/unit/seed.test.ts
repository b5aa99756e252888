import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSeed, SeedError } from '../../shared/domain/seed.js';
import { seedItems, seededUserId } from '../../shared/store/seed-writer.js';
import { hashHookSecret } from '../../shared/domain/hook-secrets.js';
import { SEED_SCHEMA_FILE, seedSchemaText } from '../../scripts/write-seed-schema.js';

const demo = JSON.parse(readFileSync('seed/demo.json', 'utf8'));

function problemsOf(input: unknown): string[] {
  try {
    parseSeed(input);
  } catch (error) {
    if (error instanceof SeedError) return error.problems;
    throw error;
  }
  return [];
}

describe('the seed file', () => {
  it('accepts the demo seed', () => {
    expect(problemsOf(demo)).toEqual([]);
  });

  it('has its committed JSON Schema in step with the zod schema (npm run schema)', () => {
    expect(readFileSync(SEED_SCHEMA_FILE, 'utf8')).toBe(seedSchemaText());
  });

  it('names the path of a bad field', () => {
    const bad = structuredClone(demo);
    bad.accounts[0].ssoConfig.allowedDomains[0] = 'not a domain';
    bad.users[1].email = 'nobody';
    expect(problemsOf(bad)).toEqual([
      expect.stringMatching(/^accounts\[0\]\.ssoConfig\.allowedDomains\[0\]: /),
      expect.stringMatching(/^users\[1\]\.email: /),
    ]);
  });

  it('refuses a provider name that its connection does not have', () => {
    const bad = structuredClone(demo);
    bad.accounts[0].ssoConfig.providers[0].providerName = 'OtherOkta';
    expect(problemsOf(bad)).toEqual([
      'accounts[0].ssoConfig.providers[0].providerName: "OtherOkta" is not a provider of connection "demo-okta"',
    ]);
  });

  it('refuses duplicate ids, emails and provider names', () => {
    const bad = structuredClone(demo);
    bad.connections[1].id = 'demo-okta';
    bad.connections[1].providerNames = ['Okta'];
    bad.users[1].email = 'ALEX.DOE@example.com';
    const problems = problemsOf(bad);
    expect(problems).toContain('connections[1].id: duplicate connection id "demo-okta"');
    expect(problems).toContain('connections[1].providerNames[0]: duplicate provider name "Okta"');
    expect(problems).toContain('users[1].email: duplicate email "alex.doe@example.com"');
  });

  it('needs one or two hook secrets per connection', () => {
    const none = structuredClone(demo);
    none.connections[0].hookSecrets = [];
    expect(problemsOf(none)).toEqual([expect.stringContaining('connections[0].hookSecrets: give one or two')]);
    const three = structuredClone(demo);
    three.connections[0].hookSecretSha256 = ['a'.repeat(64), 'b'.repeat(64)];
    expect(problemsOf(three)).toEqual([expect.stringContaining('found 3')]);
  });
});

describe('seed items', () => {
  const items = seedItems(parseSeed(structuredClone(demo)), new Date('2026-01-01T00:00:00Z'));

  it('stores hook secrets only as SHA-256 hashes', () => {
    const connection = items.find((item) => item.pk === 'CONNECTION#demo-okta');
    expect(connection?.hookSecretHashes).toEqual([hashHookSecret(demo.connections[0].hookSecrets[0])]);
    expect(JSON.stringify(items)).not.toContain(demo.connections[0].hookSecrets[0]);
  });

  it('indexes accounts by (connection, group) and by connection', () => {
    const grants = items.filter((item) => item.entity === 'GroupGrant').map((item) => `${item.pk} ${item.sk} ${item.role}`);
    expect(grants).toEqual([
      'CONNECTION#demo-okta#GROUP#Finance-Approvers ACCOUNT#demo-account Admin',
      'CONNECTION#demo-okta#GROUP#Payroll-Admins ACCOUNT#demo-account Author',
      'CONNECTION#other-okta#GROUP#Finance-Approvers ACCOUNT#other-account Viewer',
      'CONNECTION#demo-entra#GROUP#00000000-0000-4000-8000-0000000d2001 ACCOUNT#demo-entra-account Author',
      'CONNECTION#demo-entra#GROUP#00000000-0000-4000-8000-0000000d2002 ACCOUNT#demo-entra-account Admin',
    ]);
    expect(items.filter((item) => item.entity === 'AccountLink').map((item) => item.pk)).toEqual([
      'CONNECTION#demo-okta#ACCOUNTS',
      'CONNECTION#other-okta#ACCOUNTS',
      'CONNECTION#demo-entra#ACCOUNTS',
    ]);
  });

  it('keeps an Okta connection\'s deprovisionOnSuspend (on unless the file turns it off), and no Entra setting', () => {
    const connection = items.find((item) => item.pk === 'CONNECTION#demo-okta' && item.sk === 'CONNECTION');
    expect(connection).toMatchObject({ type: 'okta', deprovisionOnSuspend: true });
    expect(connection?.deprovisionOnDisable).toBeUndefined();
    const file = structuredClone(demo);
    file.connections = file.connections.map((c: { id: string }) => (c.id === 'demo-okta' ? { ...c, deprovisionOnSuspend: false } : c));
    const off = parseSeed(file);
    expect(seedItems(off, new Date()).find((item) => item.pk === 'CONNECTION#demo-okta' && item.sk === 'CONNECTION')).toMatchObject({ deprovisionOnSuspend: false });
  });

  it('keeps an Entra connection\'s Graph app and subscriptions, clientStates only as hashes', () => {
    const connection = items.find((item) => item.pk === 'CONNECTION#demo-entra' && item.sk === 'CONNECTION');
    expect(connection).toMatchObject({ type: 'entra', tenantId: '00000000-0000-4000-8000-0000000d0001', deprovisionOnDisable: true });
    expect(connection?.graph).toEqual({ clientId: '00000000-0000-4000-8000-0000000d0c11', clientSecretRef: 'sso-sync/demo/entra' });
    const subscriptions = items.filter((item) => item.entity === 'GraphSubscription');
    expect(subscriptions.map((item) => `${item.pk} ${item.sk} ${item.resource}`)).toEqual([
      'CONNECTION#demo-entra SUBSCRIPTION#00000000-0000-4000-8000-0000000d5001 users',
      'CONNECTION#demo-entra SUBSCRIPTION#00000000-0000-4000-8000-0000000d5002 groups',
    ]);
    expect(subscriptions[0]?.clientStateHashes).toEqual([hashHookSecret('dev-clientstate-0000000000000000')]);
    expect(JSON.stringify(items)).not.toContain('dev-clientstate-0000000000000000');
  });

  it('links Entra users by lowercased object id, listed per connection in gsi1', () => {
    const sam = items.find((item) => item.pk === 'IDENTITY#demo-entra#SUBJECT#00000000-0000-4000-8000-0000000d1001');
    expect(sam).toMatchObject({ userId: 'sam', gsi1pk: 'CONNECTION#demo-entra#LINKED', gsi1sk: 'USER#sam' });
  });

  it('lowercases Entra group ids and object ids, which Graph and the claims may spell in either case', () => {
    const seed = parseSeed({
      connections: [{ id: 'e', type: 'entra', tenantId: '00000000-0000-4000-8000-00000000000A', providerNames: ['E'] }],
      accounts: [{ id: 'a', ssoConfig: { active: true, allowedDomains: ['example.com'], providers: [{ connectionId: 'e', providerName: 'E', groups: [{ group: '00000000-0000-4000-8000-0000000000AB', role: 'Viewer' }] }] } }],
      users: [{ email: 'x@example.com', identities: [{ connectionId: 'e', subject: '00000000-0000-4000-8000-0000000000CD' }] }],
    });
    const written = seedItems(seed, new Date());
    expect(written.some((item) => item.pk === 'CONNECTION#e#GROUP#00000000-0000-4000-8000-0000000000ab')).toBe(true);
    expect(written.some((item) => item.pk === 'IDENTITY#e#SUBJECT#00000000-0000-4000-8000-0000000000cd')).toBe(true);
    expect(written.find((item) => item.pk === 'CONNECTION#e')?.tenantId).toBe('00000000-0000-4000-8000-00000000000a');
  });

  it('refuses an Entra connection without a tenant, and Graph fields on an Okta connection', () => {
    const entra = { id: 'e', type: 'entra', providerNames: ['E'] };
    expect(() => parseSeed({ connections: [entra] })).toThrow(/connections\[0\]\.tenantId: an Entra connection needs its tenant id/);
    const okta = { id: 'o', type: 'okta', providerNames: ['O'], hookSecrets: ['x'.repeat(32)], graph: { clientId: '00000000-0000-4000-8000-000000000001', clientSecretRef: 's' } };
    expect(() => parseSeed({ connections: [okta] })).toThrow(/connections\[0\]\.graph: only Entra connections have a Graph app/);
  });

  it('keeps an Okta connection\'s org URL and API token reference (for System Log polling), and refuses a token without an org', () => {
    const okta = { id: 'o', type: 'okta', providerNames: ['O'], hookSecrets: ['x'.repeat(32)], orgUrl: 'https://dev-123.okta.com/', oktaApiTokenRef: 'sso-sync/dev/o/okta-api-token' };
    const written = seedItems(parseSeed({ connections: [okta] }), new Date('2026-01-01T00:00:00Z'));
    expect(written.find((item) => item.pk === 'CONNECTION#o')).toMatchObject({ orgUrl: 'https://dev-123.okta.com', oktaApiTokenRef: 'sso-sync/dev/o/okta-api-token' });
    expect(() => parseSeed({ connections: [{ ...okta, orgUrl: undefined }] })).toThrow(/connections\[0\]\.orgUrl: an Okta API token needs the org URL/);
    expect(() => parseSeed({ connections: [{ ...okta, orgUrl: 'http://dev-123.okta.com' }] })).toThrow(/orgUrl/);
    const entra = { id: 'e', type: 'entra', tenantId: '00000000-0000-4000-8000-00000000000a', providerNames: ['E'], oktaApiTokenRef: 'x' };
    expect(() => parseSeed({ connections: [entra] })).toThrow(/connections\[0\]\.oktaApiTokenRef: only Okta connections/);
  });

  it('links identities by lowercased email and by subject', () => {
    const identities = items.filter((item) => item.entity === 'Identity').map((item) => item.pk);
    expect(identities).toContain('IDENTITY#demo-okta#EMAIL#alex.doe@example.com');
    expect(identities).toContain('IDENTITY#demo-okta#SUBJECT#00u0000000000000DEV1');
  });

  it('gives users without an id a stable one derived from the email', () => {
    expect(seededUserId('a@example.com')).toBe(seededUserId('a@example.com'));
    expect(seededUserId('a@example.com')).not.toBe(seededUserId('b@example.com'));
  });
});
