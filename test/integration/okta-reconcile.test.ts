/**
 * Issue 11: Okta reconciliation through the Okta API. okta-a gets an org URL (the fake Okta over
 * HTTPS) and an API token in moto's Secrets Manager; okta-b has none. In the seed, acme is
 * granted by Finance-Approvers and Payroll-Admins, globex by Payroll-Admins, initech (okta-b) by
 * Finance-Approvers. The scheduled handler queues the request, the stream runs the real
 * process-graph-events on it; the command line runs as a child process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startFakeOkta, type FakeOkta } from '../../scripts/lib/fake-okta.js';
import { lambdaContext, type LocalStream } from '../../scripts/lib/local-stream.js';
import { graphAppSecret } from '../helpers/secrets.js';
import { addSeedUser, createSeededTable, itemsOf, membership } from '../helpers/stack.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { getConnection } from '../../shared/store/connections.js';
import { isPollable } from '../../shared/app/okta-log-poller.js';
import { oktaReconcileDiff } from '../../shared/app/okta-reconcile.js';
import { storeReconcileRequest } from '../../shared/store/graph-inbox.js';
import { handler as reconcileSchedule } from '../../functions/reconcile.js';
import { cognitoClient } from '../../shared/idp/cognito.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { createFederatedUser, createUserPool, nameCognitoUserOnIdentity } from '../helpers/cognito.js';
import { clearFaults, failTimesWhenMentioning } from '../helpers/faults.js';
import { oktaDelivery, oktaLogEvent, withGroup, withUser } from '../helpers/fixtures.js';
import { postToOktaHook } from '../helpers/okta.js';
import { processUntilSettled, SECRET_A1 } from '../helpers/stack.js';

const run = promisify(execFile);
const TOKEN_REF = `sso-sync/test-reconcile-${crypto.randomUUID().slice(0, 8)}/okta-a/okta-api-token`;

let okta: FakeOkta;
let stream: LocalStream;
let apiToken: string;

async function setConnection(connectionId: string, values: Record<string, unknown>) {
  const names = Object.keys(values);
  await documentClient.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.connection(connectionId),
      UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: Object.fromEntries(names.map((name) => [`:${name}`, values[name]])),
    }),
  );
}

beforeAll(async () => {
  [stream, okta] = await Promise.all([createSeededTable(), startFakeOkta()]);
  apiToken = await graphAppSecret(TOKEN_REF, `00ReconcileToken-${crypto.randomUUID()}`);
  await setConnection('okta-a', { orgUrl: okta.orgUrl, oktaApiTokenRef: TOKEN_REF });
  // The Entra tenants of the seed have no fake Graph here: keep the schedule to the Okta orgs.
  await setConnection('entra-a', { deactivatedAt: '2026-01-01T00:00:00.000Z' });
  await setConnection('entra-b', { deactivatedAt: '2026-01-01T00:00:00.000Z' });
});

afterAll(async () => {
  await okta?.stop();
});

/** Earlier tests' users leave okta-a's linked listing, so each test reconciles its own users only. */
async function unlinkEveryone() {
  const { Items = [] } = await documentClient.send(
    new ScanCommand({ TableName: tableName, FilterExpression: 'gsi1pk = :linked', ExpressionAttributeValues: { ':linked': keys.linkedUsersOf('okta-a') }, ConsistentRead: true }),
  );
  await Promise.all(
    Items.map((item) =>
      documentClient.send(new UpdateCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: 'REMOVE gsi1pk, gsi1sk' })),
    ),
  );
}

beforeEach(async () => {
  okta.reset();
  okta.addApiToken(apiToken);
  await unlinkEveryone();
});

let users = 0;
/** A user linked to okta-a by their Okta id (and to okta-b), Viewer in acme, globex and initech. */
async function oktaUser(name: string) {
  users += 1;
  const oktaId = `00uRECON${String(users).padStart(12, '0')}`;
  const email = `${name}-${users}@example.com`;
  const userId = await addSeedUser({
    email,
    identities: [{ connectionId: 'okta-a', subject: oktaId }, { connectionId: 'okta-b' }],
    memberships: ['acme', 'globex', 'initech'].map((accountId) => ({ accountId, role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' })),
  });
  return { email, oktaId, userId };
}

type TestUser = Awaited<ReturnType<typeof oktaUser>>;

/** The groups as Okta has them now; a name may have several groups. */
function oktaGroups(members: Record<string, TestUser[][]>) {
  const ids: Record<string, string[]> = {};
  for (const [name, groups] of Object.entries(members)) {
    ids[name] = groups.map((groupMembers) => {
      const id = okta.addGroup(name);
      okta.setGroupMembers(id, groupMembers.map(({ oktaId }) => oktaId));
      return id;
    });
  }
  return ids;
}

async function statuses(user: TestUser) {
  const of = async (accountId: string) => (await membership(user.email, accountId))?.status;
  return { acme: await of('acme'), globex: await of('globex'), initech: await of('initech') };
}

async function removalOf(user: TestUser, accountId: string) {
  return (await membership(user.email, accountId))?.removal;
}

let minute = 0;
/** One scheduled run (each at a minute of its own: requests are one per connection and minute), processed by the stream. */
async function scheduledRun() {
  minute += 1;
  const time = new Date(Math.floor(Date.now() / 60_000) * 60_000 + minute * 60_000);
  const result = await reconcileSchedule({ time: time.toISOString() } as never, lambdaContext('reconcile'));
  const eventId = `reconcile-schedule-${time.toISOString().slice(0, 16).replace(/[-:]/g, '')}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    await stream.drain();
    const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.inboxEvent('okta-a', eventId), ConsistentRead: true }));
    if (Item && Item.status !== 'pending') return { queued: result.queued, eventId, event: Item };
    if (Date.now() > deadline) throw new Error(`reconcile request ${eventId} still pending`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const auditOf = async (eventId: string) => (await itemsOf('Audit')).filter((entry) => entry.eventId === eventId);
const userReads = () => okta.directoryRequests().filter((request) => request.startsWith('/api/v1/users/'));

describe('Okta reconciliation, scheduled daily', () => {
  it('removes who left or was deactivated, deleted or suspended, keeps who a second group still grants, and touches no other connection', async () => {
    const leaver = await oktaUser('leaver');
    const financeOnly = await oktaUser('finance.only');
    const stayer = await oktaUser('stayer');
    const deactivated = await oktaUser('deactivated');
    const deleted = await oktaUser('deleted');
    const suspended = await oktaUser('suspended');
    oktaGroups({ 'Finance-Approvers': [[financeOnly]], 'Payroll-Admins': [[stayer, deactivated, suspended]] });
    okta.setUser(deactivated.oktaId, { status: 'DEPROVISIONED' });
    okta.setUser(suspended.oktaId, { status: 'SUSPENDED' });
    okta.setUser(leaver.oktaId, { status: 'ACTIVE' });
    okta.setUser(financeOnly.oktaId, { status: 'ACTIVE' });
    okta.deleteUser(deleted.oktaId);

    const { queued, eventId, event } = await scheduledRun();

    // okta-b has no API token: not queued.
    expect(queued).toEqual(['okta-a']);
    expect(event).toMatchObject({ status: 'applied', detail: expect.stringContaining('reconciled 2 Okta group name(s), 6 linked user(s), 3 user status(es) read: soft-deleted membership in acme (4 users), globex (5 users)') });
    expect(await statuses(leaver)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
    expect(await removalOf(leaver, 'globex')).toBe('group');
    expect(await statuses(financeOnly)).toEqual({ acme: 'active', globex: 'deleted', initech: 'active' });
    expect(await removalOf(financeOnly, 'globex')).toBe('group');
    expect(await statuses(stayer)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
    for (const gone of [deactivated, deleted, suspended]) {
      expect(await statuses(gone)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
      expect(await removalOf(gone, 'acme')).toBe('user');
    }
    // Seeded users never linked by Okta user id are not judged: no evidence about them.
    expect((await membership('alex.doe@example.com', 'acme'))?.status).toBe('active');
    expect((await membership(deactivated.email, 'acme'))?.reason).toBe('reconcile: user deactivated in Okta');
    expect((await membership(deleted.email, 'acme'))?.reason).toBe('reconcile: user deleted in Okta');
    expect((await membership(suspended.email, 'acme'))?.reason).toBe('reconcile: user suspended in Okta');

    // One status read per user the lists left out (the deactivated and suspended ones are listed with their status).
    expect(userReads().sort()).toEqual([leaver, financeOnly, deleted].map(({ oktaId }) => `/api/v1/users/${oktaId}`).sort());
    // One audit entry per effect: 2 + 1 + 2 + 2 + 2.
    const audit = await auditOf(eventId);
    expect(audit).toHaveLength(9);
    expect(new Set(audit.map((entry) => `${entry.userId}|${entry.accountId}`)).size).toBe(9);

    // Again: nothing changes, nothing is audited.
    const again = await scheduledRun();
    expect(again.event).toMatchObject({ status: 'applied', detail: expect.stringContaining('nothing to remove') });
    expect(await auditOf(again.eventId)).toHaveLength(0);
    expect(await statuses(stayer)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });

  it('unions the Okta groups of one name; a name Okta finds no group of is no evidence, and the outcome says so', async () => {
    const inSecond = await oktaUser('in.second.group');
    oktaGroups({ 'Finance-Approvers': [[], [inSecond]] });
    okta.setUser(inSecond.oktaId, { status: 'ACTIVE' });
    const { event } = await scheduledRun();
    expect(event.detail).toMatch(/1 not found in Okta, the accounts they grant not checked for group removals .*: Payroll-Admins/);
    // Okta's search may miss a group that exists: globex (granted only by that name) is not judged.
    expect(await statuses(inSecond)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });

  it('keeps a suspended user when the connection keeps suspended users (deprovisionOnSuspend off)', async () => {
    const listed = await oktaUser('suspended.listed');
    const unlisted = await oktaUser('suspended.unlisted');
    oktaGroups({ 'Payroll-Admins': [[listed]], 'Finance-Approvers': [[unlisted]] });
    okta.setUser(listed.oktaId, { status: 'SUSPENDED' });
    okta.setUser(unlisted.oktaId, { status: 'SUSPENDED' });
    await setConnection('okta-a', { deprovisionOnSuspend: false });
    try {
      await scheduledRun();
    } finally {
      await setConnection('okta-a', { deprovisionOnSuspend: true });
    }
    expect(await statuses(listed)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
    // Suspended but kept: only the account no group of theirs grants goes, as a group removal.
    expect(await statuses(unlisted)).toEqual({ acme: 'active', globex: 'deleted', initech: 'active' });
    expect(await removalOf(unlisted, 'globex')).toBe('group');
  });

  it('Okta reconciliation with a failing page deletes nothing', async () => {
    const leaver = await oktaUser('leaver.on.failure');
    const members = Array.from({ length: 250 }, (_, index) => `00uMANY${String(index).padStart(13, '0')}`);
    const finance = okta.addGroup('Finance-Approvers');
    okta.setGroupMembers(finance, members);
    oktaGroups({ 'Payroll-Admins': [[]] });
    okta.setUser(leaver.oktaId, { status: 'DEPROVISIONED' });
    // The second page of Finance-Approvers' members fails, on every attempt.
    okta.failNext({ method: 'GET', pathPrefix: `/api/v1/groups/${finance}/users`, status: 503, skip: 1, times: 100 });

    const connection = await getConnection('okta-a');
    if (!isPollable(connection)) throw new Error('okta-a has no API token');
    await expect(oktaReconcileDiff(connection)).rejects.toThrow(/Finance-Approvers.*nothing was deleted.*status 503/);

    const { eventId, event } = await scheduledRun();
    expect(event).toMatchObject({ status: 'failed', detail: expect.stringMatching(/nothing was deleted/) });
    expect(await statuses(leaver)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
    expect(await auditOf(eventId)).toHaveLength(0);
    expect(okta.directoryRequests().some((request) => request.includes('after='))).toBe(true);
    // Nothing was read that would be needed only after the lists: no user status was asked for.
    expect(userReads()).toEqual([]);
  });

  it('waits out a 429 that resets soon and reads every page', async () => {
    const member = await oktaUser('member.after.429');
    const many = Array.from({ length: 230 }, (_, index) => `00uPAGE${String(index).padStart(13, '0')}`);
    const ids = oktaGroups({ 'Payroll-Admins': [[]], 'Finance-Approvers': [[]] });
    okta.setGroupMembers(ids['Payroll-Admins']?.[0] ?? '', [...many, member.oktaId]);
    okta.failNext({ method: 'GET', pathPrefix: '/api/v1/groups/', status: 429, skip: 1, times: 1, resetInSeconds: 1 });
    const { event } = await scheduledRun();
    expect(event).toMatchObject({ status: 'applied', detail: expect.stringContaining('nothing to remove') });
    expect(await statuses(member)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });
});

describe('a reconcile request for an Okta connection without an API token (a replay, say)', () => {
  it('is skipped with the reason, and Okta is not asked', async () => {
    const { eventId } = await storeReconcileRequest({ connectionId: 'okta-b', trigger: 'schedule', receivedAt: new Date(), retentionDays: 1 });
    const deadline = Date.now() + 15_000;
    let item: Record<string, unknown> | undefined;
    do {
      await stream.drain();
      item = (await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.inboxEvent('okta-b', eventId), ConsistentRead: true }))).Item;
    } while (item?.status === 'pending' && Date.now() < deadline);
    expect(item).toMatchObject({ status: 'skipped', detail: expect.stringContaining('no Okta API token') });
    expect(okta.requests).toHaveLength(0);
  });
});

describe('npm run reconcile -- <okta-connection>', () => {
  const cli = (...args: string[]) => run('node_modules/.bin/tsx', ['scripts/reconcile.ts', 'okta-a', ...args, '--endpoint', process.env.DYNAMODB_ENDPOINT ?? '', '--table', tableName]);

  it('--dry-run prints progress and the diff and writes nothing; without it, applies the diff', async () => {
    const leaver = await oktaUser('cli.leaver');
    oktaGroups({ 'Finance-Approvers': [[]], 'Payroll-Admins': [[]] });
    okta.setUser(leaver.oktaId, { status: 'ACTIVE' });
    const inboxBefore = (await itemsOf('InboxEvent')).length;

    const dry = await cli('--dry-run');
    expect(dry.stdout).toContain('okta-a: 2 account(s), 2 granting group(s)');
    expect(dry.stdout).toContain(`  - acme: user ${leaver.userId} (Okta user id ${leaver.oktaId}): in no Okta group that grants access (removal: group)`);
    expect(dry.stdout).toContain('Dry run: 2 membership(s) would be soft-deleted; nothing was written.');
    expect(await statuses(leaver)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
    expect(await itemsOf('InboxEvent')).toHaveLength(inboxBefore);

    const applied = await cli();
    expect(applied.stdout).toMatch(/applied: reconciled 2 Okta group name\(s\).*soft-deleted membership in acme, globex/);
    expect(await statuses(leaver)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
  }, 60_000);

  it('exits 1 when a page fails, saying nothing was deleted', async () => {
    const leaver = await oktaUser('cli.failure');
    oktaGroups({ 'Finance-Approvers': [[]], 'Payroll-Admins': [[]] });
    okta.setUser(leaver.oktaId, { status: 'ACTIVE' });
    okta.failNext({ method: 'GET', pathPrefix: '/api/v1/groups', status: 500, times: 1 });
    const failure = await cli().then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/Reconciliation of okta-a failed: .*nothing was deleted/);
    expect(failure?.stderr).not.toContain(apiToken);
    expect(await statuses(leaver)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  }, 60_000);
});

/** Counts the Cognito commands of these names sent while `run` runs. */
async function cognitoCommandsDuring<T>(names: string[], run: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const commands: string[] = [];
  const name = 'countReconcileCognitoCommands';
  cognitoClient.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      if (names.includes(context.commandName ?? '')) commands.push(context.commandName ?? '');
      return next(args);
    }) as never,
    { step: 'initialize', name },
  );
  try {
    return { result: await run(), commands };
  } finally {
    cognitoClient.middlewareStack.remove(name);
  }
}

describe('an Okta reconciliation that crashed after its soft-deletes, before signing anyone out', () => {
  it('signs out, on the stream\'s retry of the same event, whom its first attempt removed; nothing is deleted twice', async () => {
    const userPoolId = await createUserPool();
    users += 1;
    const oktaId = `00uRECON${String(users).padStart(12, '0')}`;
    const email = `crashed-${users}@example.com`;
    const username = `OktaA_${oktaId}`;
    await createFederatedUser(userPoolId, username, email);
    const userId = await addSeedUser({
      email,
      identities: [{ connectionId: 'okta-a', subject: oktaId }],
      memberships: ['acme', 'globex'].map((accountId) => ({ accountId, role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' })),
    });
    // Signed in through Cognito, as a sign-in leaves the identity.
    await nameCognitoUserOnIdentity('okta-a', oktaId, username, userPoolId);
    oktaGroups({ 'Finance-Approvers': [[]], 'Payroll-Admins': [[]] });
    okta.setUser(oktaId, { status: 'ACTIVE' });
    // The crash (a Lambda timeout, say): the first attempt's first read after its commit, the
    // user's identity for the sign-out, fails; the stream retries the same record.
    failTimesWhenMentioning(['GetItemCommand'], `SUBJECT#${oktaId}`, 1);
    let run: Awaited<ReturnType<typeof scheduledRun>>;
    let signOuts: string[];
    try {
      ({ result: run, commands: signOuts } = await cognitoCommandsDuring(['AdminUserGlobalSignOutCommand'], () => scheduledRun()));
    } finally {
      clearFaults();
    }
    const { eventId, event } = run;

    expect(event).toMatchObject({ status: 'applied', attempts: 1, detail: expect.stringContaining('soft-deleted membership in acme, globex') });
    expect(await statuses({ email, oktaId, userId })).toMatchObject({ acme: 'deleted', globex: 'deleted' });
    // Signed out by the retry, and recorded on the event.
    expect(signOuts).toEqual(['AdminUserGlobalSignOutCommand']);
    expect(event.revocation).toMatchObject({ status: 'done', detail: expect.stringContaining('signed out everywhere') });
    // Deleted once: one audit entry per membership.
    const audit = await auditOf(eventId);
    expect(audit.map((entry) => `${entry.action} ${entry.accountId}`).sort()).toEqual(['membership.soft_deleted acme', 'membership.soft_deleted globex']);
  });
});

describe('Okta reconciliation finds a person deactivated whose membership a group removal took earlier', () => {
  it('records that membership\'s removal as one of the person, so a later group re-add does not give it back', async () => {
    const user = await oktaUser('group.then.deactivated');
    // First run: in Finance-Approvers only (acme), so globex goes as a group removal.
    oktaGroups({ 'Finance-Approvers': [[user]], 'Payroll-Admins': [[]] });
    okta.setUser(user.oktaId, { status: 'ACTIVE' });
    const first = await scheduledRun();
    expect(await statuses(user)).toEqual({ acme: 'active', globex: 'deleted', initech: 'active' });
    expect(await removalOf(user, 'globex')).toBe('group');
    expect(await auditOf(first.eventId)).toHaveLength(1);

    // Then Okta deactivates the person (still listed in Finance-Approvers, as DEPROVISIONED).
    okta.setUser(user.oktaId, { status: 'DEPROVISIONED' });
    const second = await scheduledRun();
    expect(await statuses(user)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
    expect(await removalOf(user, 'acme')).toBe('user');
    // The earlier group removal is now one of the person: no access change, nothing audited for it.
    expect(await removalOf(user, 'globex')).toBe('user');
    const globex = await membership(user.email, 'globex');
    expect(globex).toMatchObject({ status: 'deleted', eventId: first.eventId, reason: 'reconcile: in no Okta group that grants access', changedBy: 'idp' });
    expect((await auditOf(second.eventId)).map((entry) => `${entry.action} ${entry.accountId}`)).toEqual(['membership.soft_deleted acme']);

    // A group re-add for Payroll-Admins (acme and globex) now gives nothing back.
    const readd = withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json', { eventType: 'group.user_membership.add' }), user.email), 'Payroll-Admins');
    expect((await postToOktaHook('okta-a', oktaDelivery([readd]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    await processUntilSettled(stream, 'okta-a', [readd.uuid]);
    expect((await getInboxEvent('okta-a', readd.uuid))?.status).toBe('skipped');
    expect(await statuses(user)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
  });
});
