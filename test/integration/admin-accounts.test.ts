/**
 * Accounts and SSO configs through the admin API's application functions, against DynamoDB Local
 * (the test seed) and moto_server's Cognito (a pool of the test's own holding the providers).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { accountRoutes, deleteSsoConfig, getAccount, getSsoConfig, patchSsoConfig, putAccount, putSsoConfig } from '../../shared/app/admin-accounts.js';
import { decideAdmission } from '../../shared/domain/admission.js';
import { matchRoute } from '../../shared/http/routes.js';
import { queryPartition } from '../../shared/store/query.js';
import { keys } from '../../shared/store/keys.js';
import { accountIdsGrantedByGroup, accountIdsServedBy } from '../../shared/store/directory.js';
import { ssoConfigsServedBy } from '../../shared/store/sso-configs.js';
import { recordSsoSetup } from '../../shared/store/sso-setup-writer.js';
import { createOidcProvider, createUserPool } from '../helpers/cognito.js';
import { createSeededTable, membership } from '../helpers/stack.js';

const admin = { sub: 'admin-sub-1', username: 'admin' };
let settings: { userPoolId: string };

beforeAll(async () => {
  await createSeededTable();
  const userPoolId = await createUserPool();
  // The seed links OktaA, OktaC and EntraA to connections; Orphan is in the pool but linked to none.
  for (const name of ['OktaA', 'OktaC', 'EntraA', 'Orphan']) await createOidcProvider(userPoolId, name);
  settings = { userPoolId };
});

const oktaConfig = (groups = [{ group: 'Finance-Approvers', role: 'Admin' }]) => ({
  active: true,
  allowedDomains: ['Example.com', 'example.com', 'corp.example.com'],
  providers: [{ providerName: 'OktaA', groups }],
});

const etagOf = (answer: { headers?: Record<string, string> }) => answer.headers?.ETag ?? '';

describe('reading accounts and their SSO configs', () => {
  it('answers a seeded account and its config with the same quoted ETag', async () => {
    const account = await getAccount('acme');
    const config = await getSsoConfig('acme');
    expect(account).toMatchObject({ status: 200, body: { accountId: 'acme', ssoConfig: 'present' } });
    expect(config).toMatchObject({
      status: 200,
      body: { accountId: 'acme', active: true, restoreOnSignIn: true, allowedDomains: ['example.com'], providers: [{ connectionId: 'okta-a', providerName: 'OktaA' }] },
    });
    expect(etagOf(account)).toMatch(/^"[\w-]+"$/);
    expect(etagOf(config)).toBe(etagOf(account));
  });

  it('answers 404 for an account that does not exist', async () => {
    await expect(getAccount('nobody')).rejects.toMatchObject({ statusCode: 404 });
    await expect(getSsoConfig('nobody')).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('PUT of an account', () => {
  it('creates it without If-Match, then wants the ETag to change it, and keeps its config', async () => {
    const created = await putAccount('hooli', { name: 'Hooli' }, undefined, admin);
    expect(created).toMatchObject({ status: 201, body: { accountId: 'hooli', name: 'Hooli', ssoConfig: 'none' } });
    await expect(putAccount('hooli', { name: 'Hooli Inc' }, undefined, admin)).rejects.toMatchObject({ statusCode: 428 });
    const renamed = await putAccount('hooli', { name: 'Hooli Inc' }, etagOf(created), admin);
    expect(renamed).toMatchObject({ status: 200, body: { name: 'Hooli Inc' } });
    expect(etagOf(renamed)).not.toBe(etagOf(created));

    const acme = await getAccount('acme');
    await putAccount('acme', { name: 'Acme' }, etagOf(acme), admin);
    expect((await getSsoConfig('acme')).body).toMatchObject({ providers: [{ providerName: 'OktaA' }] });
  });

  it('refuses an unknown field, naming it', async () => {
    await expect(putAccount('hooli2', { nmae: 'x' }, undefined, admin)).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('PUT of an SSO config', () => {
  it('creates one (and the account), lowercasing and deduplicating domains, with its grants, link and an audit entry', async () => {
    const answer = await putSsoConfig('newco', oktaConfig([{ group: 'NewCo-Users', role: 'Viewer' }]), undefined, admin, settings);
    expect(answer).toMatchObject({
      status: 201,
      body: { accountId: 'newco', active: true, allowedDomains: ['example.com', 'corp.example.com'], providers: [{ connectionId: 'okta-a', providerName: 'OktaA' }] },
    });
    expect(etagOf(answer)).toBe(etagOf(await getSsoConfig('newco')));
    expect(await accountIdsGrantedByGroup('okta-a', 'NewCo-Users')).toEqual(['newco']);
    expect(await accountIdsServedBy('okta-a')).toContain('newco');
    const audit = await queryPartition(keys.auditOf('newco'));
    expect(audit).toEqual([expect.objectContaining({ action: 'sso_config.created', admin })]);
  });

  it('replaces one only with the current ETag: 428 without If-Match, 412 with a stale one', async () => {
    const first = await putSsoConfig('replaced', oktaConfig(), undefined, admin, settings);
    await expect(putSsoConfig('replaced', oktaConfig(), undefined, admin, settings)).rejects.toMatchObject({ statusCode: 428 });
    const second = await putSsoConfig('replaced', { ...oktaConfig(), restoreOnSignIn: false }, etagOf(first), admin, settings);
    expect(second).toMatchObject({ status: 200, body: { restoreOnSignIn: false } });
    await expect(putSsoConfig('replaced', oktaConfig(), etagOf(first), admin, settings)).rejects.toMatchObject({ statusCode: 412 });
    await expect(putSsoConfig('nothing-here', oktaConfig(), '"abc"', admin, settings)).rejects.toMatchObject({ statusCode: 412 });
  });

  it.each([
    ['a domain that is not a host name', { ...oktaConfig(), allowedDomains: ['exa mple.com'] }, /^allowedDomains\[0\]: /],
    ['an unknown role', oktaConfig([{ group: 'G', role: 'Owner' }]), /^providers\[0\]\.groups\[0\]\.role: /],
    ['a provider not in the pool', { ...oktaConfig(), providers: [{ providerName: 'OktaZ', groups: [] }] }, /^providers\[0\]\.providerName: there is no identity provider "OktaZ"/],
    ['a provider of no connection', { ...oktaConfig(), providers: [{ providerName: 'Orphan', groups: [] }] }, /^providers\[0\]\.providerName: "Orphan" belongs to no connection/],
    ['a provider named with another connection', { ...oktaConfig(), providers: [{ providerName: 'OktaA', connectionId: 'okta-b', groups: [] }] }, /^providers\[0\]\.connectionId: /],
    ['an Entra group that is not a GUID', { ...oktaConfig(), providers: [{ providerName: 'EntraA', groups: [{ group: 'Engineering', role: 'Admin' }] }] }, /^providers\[0\]\.groups\[0\]\.group: an Entra group is its object id/],
    ['a misspelt field', { ...oktaConfig(), allowedDomain: ['example.com'] }, /allowedDomain/],
  ])('refuses %s with 400, naming the field', async (_what, body, detail) => {
    await expect(putSsoConfig('invalid', body, undefined, admin, settings)).rejects.toMatchObject({ statusCode: 400, detail: expect.stringMatching(detail) });
    await expect(getAccount('invalid')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('stores an Entra group object id lowercased', async () => {
    const body = { ...oktaConfig(), providers: [{ providerName: 'EntraA', groups: [{ group: '00000000-0000-4000-8000-0000000D2009', role: 'Viewer' }] }] };
    const answer = await putSsoConfig('entra-co', body, undefined, admin, settings);
    expect(answer.body).toMatchObject({ providers: [{ connectionId: 'entra-a', groups: [{ group: '00000000-0000-4000-8000-0000000d2009' }] }] });
    expect(await accountIdsGrantedByGroup('entra-a', '00000000-0000-4000-8000-0000000d2009')).toEqual(['entra-co']);
  });
});

describe('group grants follow the config', () => {
  it('a removed group no longer grants, and a connection no provider names no longer serves the account', async () => {
    const created = await putSsoConfig('moving', oktaConfig([{ group: 'Moving-A', role: 'Admin' }, { group: 'Moving-B', role: 'Viewer' }]), undefined, admin, settings);
    const fewer = await putSsoConfig('moving', oktaConfig([{ group: 'Moving-A', role: 'Author' }]), etagOf(created), admin, settings);
    expect(await accountIdsGrantedByGroup('okta-a', 'Moving-B')).toEqual([]);
    expect([...(await queryPartition(keys.accountsGrantedBy('okta-a', 'Moving-A')))].map((item) => item.role)).toEqual(['Author']);

    await putSsoConfig('moving', { ...oktaConfig(), providers: [{ providerName: 'OktaC', groups: [{ group: 'Moving-C', role: 'Viewer' }] }] }, etagOf(fewer), admin, settings);
    expect(await accountIdsGrantedByGroup('okta-a', 'Moving-A')).toEqual([]);
    expect(await accountIdsServedBy('okta-a')).not.toContain('moving');
    expect(await accountIdsServedBy('okta-c')).toContain('moving');
  });
});

describe('PATCH of an SSO config', () => {
  it('changes the fields given and nothing else, with If-Match', async () => {
    const created = await putSsoConfig('patched', { ...oktaConfig(), cognitoClientId: 'client123', restoreOnSignIn: false }, undefined, admin, settings);
    await expect(patchSsoConfig('patched', { active: false }, undefined, admin, settings)).rejects.toMatchObject({ statusCode: 428 });
    const patched = await patchSsoConfig('patched', { active: false }, etagOf(created), admin, settings);
    expect(patched).toMatchObject({ status: 200, body: { active: false, cognitoClientId: 'client123', restoreOnSignIn: false, allowedDomains: ['example.com', 'corp.example.com'], providers: [{ providerName: 'OktaA' }] } });
    await expect(patchSsoConfig('patched', { active: true }, etagOf(created), admin, settings)).rejects.toMatchObject({ statusCode: 412 });
    await expect(patchSsoConfig('patched', { allowedDomains: ['-bad-.com'] }, etagOf(patched), admin, settings)).rejects.toMatchObject({
      statusCode: 400,
      detail: expect.stringMatching(/^allowedDomains\[0\]/),
    });
  });

  it('of two writes with the same ETag, one wins and the other gets 412', async () => {
    const created = await putSsoConfig('raced', oktaConfig(), undefined, admin, settings);
    const answers = await Promise.allSettled([
      patchSsoConfig('raced', { restoreOnSignIn: false }, etagOf(created), admin, settings),
      patchSsoConfig('raced', { active: false }, etagOf(created), admin, settings),
    ]);
    expect(answers.filter((answer) => answer.status === 'fulfilled')).toHaveLength(1);
    expect(answers.find((answer) => answer.status === 'rejected')).toMatchObject({ reason: { statusCode: 412 } });
  });
});

describe('DELETE of an SSO config', () => {
  it('stops sign-in (sso_inactive) and keeps the memberships and grants; a PUT brings a config back', async () => {
    await expect(deleteSsoConfig('globex', undefined, admin)).rejects.toMatchObject({ statusCode: 428 });
    const deleted = await deleteSsoConfig('globex', etagOf(await getSsoConfig('globex')), admin);
    expect(deleted.status).toBe(204);
    await expect(getSsoConfig('globex')).rejects.toMatchObject({ statusCode: 404 });
    expect((await getAccount('globex')).body).toMatchObject({ ssoConfig: 'none' });

    const decisions = decideAdmission({ providerName: 'OktaA', email: 'riley.chen@example.com', idpGroups: ['Payroll-Admins'], accounts: await ssoConfigsServedBy('okta-a') });
    expect(decisions.find((decision) => decision.accountId === 'globex')).toEqual({ accountId: 'globex', admitted: false, reason: 'sso_inactive' });
    expect(await membership('riley.chen@example.com', 'globex')).toMatchObject({ status: 'active', role: 'Viewer' });
    expect(await accountIdsGrantedByGroup('okta-a', 'Payroll-Admins')).toContain('globex');
    expect((await queryPartition(keys.auditOf('globex'))).map((entry) => entry.action)).toContain('sso_config.deleted');

    await expect(deleteSsoConfig('globex', etagOf(deleted), admin)).rejects.toMatchObject({ statusCode: 404 });
    const back = await putSsoConfig('globex', oktaConfig([{ group: 'Payroll-Admins', role: 'Viewer' }]), undefined, admin, settings);
    expect(back).toMatchObject({ status: 201, body: { active: true } });
  });
});

describe('the routes', () => {
  it('dispatch each method and path, take If-Match from the request and answer the ETag', async () => {
    const routes = accountRoutes(settings);
    const send = (method: string, path: string, options: { body?: unknown; ifMatch?: string } = {}) => {
      const { route, params } = matchRoute(routes, method, path);
      const header = (name: string) => (name.toLowerCase() === 'if-match' ? options.ifMatch : undefined);
      return route.handle({ params, query: {}, header, body: options.body, principal: admin });
    };
    const created = await send('PUT', '/admin/accounts/routed/sso-config', { body: oktaConfig() });
    expect(created.status).toBe(201);
    const read = await send('GET', '/admin/accounts/routed/sso-config');
    expect(read.headers?.ETag).toBe(created.headers?.ETag);
    const patched = await send('PATCH', '/admin/accounts/routed/sso-config', { body: { active: false }, ifMatch: read.headers?.ETag ?? '' });
    expect(patched).toMatchObject({ status: 200, body: { active: false } });
    expect((await send('DELETE', '/admin/accounts/routed/sso-config', { ifMatch: patched.headers?.ETag ?? '' })).status).toBe(204);
    expect((await send('GET', '/admin/accounts/routed')).body).toMatchObject({ accountId: 'routed', ssoConfig: 'none' });
    await expect(send('GET', '/admin/accounts/bad%23id')).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('POST /admin/sso-providers after the admin API', () => {
  it('starts a new, active config over a deleted one, and the old groups no longer grant; the ETag changes', async () => {
    const created = await putSsoConfig('resetup', oktaConfig([{ group: 'Old-Group', role: 'Admin' }]), undefined, admin, settings);
    await deleteSsoConfig('resetup', etagOf(created), admin);
    const before = etagOf(await getAccount('resetup'));
    await recordSsoSetup({
      accountId: 'resetup',
      connectionId: 'okta-a',
      providers: [{ providerName: 'OktaA', groups: [{ group: 'New-Group', role: 'Viewer' }] }],
      allowedDomains: ['example.com'],
      clientId: 'client456',
      clientSecretRef: 'sso-sync/test/client456',
      admin,
    });
    const config = await getSsoConfig('resetup');
    expect(config.body).toMatchObject({ active: true, cognitoClientId: 'client456', providers: [{ providerName: 'OktaA', groups: [{ group: 'New-Group' }] }] });
    expect(etagOf(config)).not.toBe(before);
    expect(await accountIdsGrantedByGroup('okta-a', 'Old-Group')).toEqual([]);
    expect(await accountIdsGrantedByGroup('okta-a', 'New-Group')).toEqual(['resetup']);
  });
});
