/**
 * The Okta reads of reconciliation against answers the fake Okta cannot give (a next link to
 * another host, a 404 that is not Okta's, a far-off rate-limit reset): fetch is replaced by a
 * function answering from a script, and every URL it was asked for is kept.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { oktaDirectory, OktaDirectoryError } from '../../shared/idp/okta-directory.js';

const ORG = 'https://acme.okta.example';
const TOKEN = '00secret-token-never-in-an-error';

type Scripted = { status: number; body?: unknown; headers?: Record<string, string>; raw?: string };

function answering(...answers: Scripted[]) {
  const asked: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    asked.push(url);
    const next = answers.shift() ?? { status: 500 };
    return new Response(next.raw ?? JSON.stringify(next.body ?? null), { status: next.status, headers: next.headers });
  });
  return asked;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const group = { id: '00gFINANCE', name: 'Finance-Approvers' };
const member = (id: string, status = 'ACTIVE') => ({ id, status, profile: { login: `${id}@example.com` } });

describe('oktaDirectory', () => {
  it('follows next links on the org and path only; a link elsewhere fails the read rather than being followed', async () => {
    const asked = answering(
      { status: 200, body: [member('00u1')], headers: { link: `<${ORG}/api/v1/groups/00gFINANCE/users?after=00u1&limit=200>; rel="next"` } },
      { status: 200, body: [member('00u2', 'SUSPENDED')], headers: { link: '<https://evil.example/api/v1/groups/00gFINANCE/users?after=x>; rel="next"' } },
    );
    const okta = oktaDirectory(ORG, TOKEN);
    await expect(okta.membersOf(group)).rejects.toThrow(/leaves the org's path/);
    expect(asked).toEqual([`${ORG}/api/v1/groups/00gFINANCE/users?limit=200`, `${ORG}/api/v1/groups/00gFINANCE/users?after=00u1&limit=200`]);
  });

  it('reads every page of members with their status', async () => {
    answering(
      { status: 200, body: [member('00u1')], headers: { link: `<${ORG}/api/v1/groups/00gFINANCE/users?after=00u1>; rel="next"` } },
      { status: 200, body: [member('00u2', 'DEPROVISIONED')] },
    );
    expect(await oktaDirectory(ORG, TOKEN).membersOf(group)).toEqual([
      { oktaUserId: '00u1', status: 'ACTIVE' },
      { oktaUserId: '00u2', status: 'DEPROVISIONED' },
    ]);
  });

  it('searches groups by exact name and keeps only exact matches', async () => {
    const asked = answering({ status: 200, body: [{ id: '00g1', profile: { name: 'Finance-Approvers' } }, { id: '00g2', profile: { name: 'Finance-Approvers-EU' } }] });
    expect(await oktaDirectory(ORG, TOKEN).groupsNamed('Finance-Approvers')).toEqual([{ id: '00g1', name: 'Finance-Approvers' }]);
    expect(new URL(asked[0] ?? '').searchParams.get('search')).toBe('profile.name eq "Finance-Approvers"');
  });

  it("a 404 with Okta's E0000007 is a deleted user; any other 404 fails", async () => {
    answering({ status: 404, body: { errorCode: 'E0000007', errorSummary: 'Not found' } }, { status: 404, raw: '<html>not found</html>' });
    const okta = oktaDirectory(ORG, TOKEN);
    expect(await okta.userState('00u1')).toBe('deleted');
    await expect(okta.userState('00u1')).rejects.toBeInstanceOf(OktaDirectoryError);
  });

  it('waits out a 429 that resets within 10 s once; a later reset fails without waiting', async () => {
    const soon = String(Math.ceil(Date.now() / 1000) + 2);
    const late = String(Math.ceil(Date.now() / 1000) + 60);
    answering({ status: 429, headers: { 'x-rate-limit-reset': soon } }, { status: 200, body: member('00u1', 'SUSPENDED') }, { status: 429, headers: { 'x-rate-limit-reset': late } });
    const waits: number[] = [];
    const okta = oktaDirectory(ORG, TOKEN, { wait: async (ms) => waits.push(ms) });
    expect(await okta.userState('00u1')).toEqual({ status: 'SUSPENDED' });
    await expect(okta.userState('00u1')).rejects.toThrow(/rate limit is spent/);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeLessThanOrEqual(10_000);
    expect(okta.requests).toBe(3);
  });

  it('fails on a 5xx, an answer that is not JSON, or a timeout, and never names the token', async () => {
    answering({ status: 503 }, { status: 200, raw: 'not json' });
    const okta = oktaDirectory(ORG, TOKEN);
    const errors: unknown[] = [await okta.groupsNamed('A').catch((error: Error) => error), await okta.membersOf(group).catch((error: Error) => error)];
    vi.stubGlobal('fetch', async () => {
      throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    });
    errors.push(await okta.userState('00u1').catch((error: Error) => error));
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'Okta answered status 503 for the groups named "A"',
      'the members of group "Finance-Approvers" (00gFINANCE): the answer is not JSON',
      'no answer from Okta within 10 s for user 00u1',
    ]);
    for (const error of errors) expect(String((error as Error).message)).not.toContain(TOKEN);
  });
});
