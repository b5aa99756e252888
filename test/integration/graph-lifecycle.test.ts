/**
 * Graph lifecycle notifications and reconciliation, end to end: the real lifecycle hook, the
 * stream, process-graph-events, DynamoDB Local, moto (Secrets Manager) and the local fake Graph.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Configuration is read once, at the handlers' import: the fake Graph must be up before that.
const fake = await vi.hoisted(async () => {
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  // Notification URLs here are not reachable: no validation handshake on create.
  const started = await startFakeGraph({ validateNotificationUrls: false });
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  process.env.HOOKS_BASE_URL = 'https://hooks.example.test';
  return started;
});

const { addSeedUser, createSeededTable, ENTRA_A_CLIENT_ID, itemsOf } = await import('../helpers/stack.js');
const { lifecycleNotification, postToGraphHook, useFakeGraphForEntraA } = await import('../helpers/graph.js');
const { listSubscriptions } = await import('../../shared/store/subscriptions.js');
const { getConnection } = await import('../../shared/store/connections.js');
const { reconcileDiff } = await import('../../shared/app/reconcile-connection.js');
const { handler: reconcileSchedule } = await import('../../functions/reconcile.js');
const { lambdaContext } = await import('../../scripts/lib/local-stream.js');
const { createFederatedUser, createUserPool, nameCognitoUserOnIdentity } = await import('../helpers/cognito.js');
const { clearFaults, failTimesWhenMentioning } = await import('../helpers/faults.js');
const { storeReconcileRequest } = await import('../../shared/store/graph-inbox.js');
const { cognitoClient } = await import('../../shared/idp/cognito.js');

const USERS_SUBSCRIPTION = '00000000-0000-4000-8000-0000000d5001';
const GROUPS_SUBSCRIPTION = '00000000-0000-4000-8000-0000000d5002';
const GROUP_CONTOSO = '00000000-0000-4000-8000-0000000d2001';
const GROUP_NORTHWIND = '00000000-0000-4000-8000-0000000d2002';
const GROUP_NESTED = '00000000-0000-4000-8000-0000000d2901'; // no account lists it; nested in GROUP_NORTHWIND by the tests that use it

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

/** Graph's side as each test starts: the app, the groups' members. */
useFakeGraphForEntraA(fake, () => {
  fake.setGroupMembers(GROUP_CONTOSO, []);
  fake.setGroupMembers(GROUP_NORTHWIND, []);
});

let counter = 0;
async function entraUser(accounts: string[]) {
  counter += 1;
  const objectId = `00000000-0000-4000-8000-${(0xe10000 + counter).toString(16).padStart(12, '0')}`;
  const userId = await addSeedUser({
    email: `lifecycle-${counter}@example.com`,
    identities: [{ connectionId: 'entra-a', subject: objectId }],
    memberships: accounts.map((accountId) => ({ accountId, role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' })),
  });
  return { objectId, userId };
}

async function statuses(userId: string): Promise<Record<string, string>> {
  const memberships = (await itemsOf('Membership')).filter((item) => item.userId === userId);
  return Object.fromEntries(memberships.map((item) => [item.accountId as string, item.status as string]));
}

/** Runs the stream until no Graph event is pending; returns the events of this type. */
async function settledEvents(eventType: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await stream.drain();
    const events = (await itemsOf('InboxEvent')).filter((item) => item.source === 'graph');
    if (events.every((event) => event.status !== 'pending')) return events.filter((event) => event.eventType === eventType);
    if (Date.now() > deadline) throw new Error('graph events still pending');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function postLifecycle(fixtureName: string, subscriptionId: string) {
  // A lifecycle notification is identified by its content and day: vary nothing, so each test uses its own kind.
  const response = await postToGraphHook('entra-a', { value: [lifecycleNotification(fixtureName, { subscriptionId })] }, { lifecycle: true });
  expect(response.statusCode).toBe(202);
}

describe('lifecycle notifications', () => {
  it('reauthorizationRequired reauthorizes the subscription', async () => {
    fake.holdSubscription({ id: USERS_SUBSCRIPTION, resource: 'users', notificationUrl: 'https://hooks.example.test/hooks/graph/entra-a', applicationId: ENTRA_A_CLIENT_ID });
    await postLifecycle('graph-lifecycle-reauthorization.json', USERS_SUBSCRIPTION);
    const [event] = await settledEvents('lifecycle.reauthorizationRequired');
    expect(event).toMatchObject({ status: 'applied', detail: `subscription ${USERS_SUBSCRIPTION} reauthorized` });
    expect(fake.requests.some((request) => request.method === 'POST' && request.path.endsWith(`/subscriptions/${USERS_SUBSCRIPTION}/reauthorize`))).toBe(true);
    expect((await listSubscriptions('entra-a')).map((held) => held.subscriptionId)).toContain(USERS_SUBSCRIPTION);
  });

  it('subscriptionRemoved recreates the subscription and reconciles the connection', async () => {
    const leaver = await entraUser(['contoso']);
    const stayer = await entraUser(['contoso']);
    fake.setGroupMembers(GROUP_CONTOSO, [stayer.objectId]);
    await postLifecycle('graph-lifecycle-subscription-removed.json', GROUPS_SUBSCRIPTION);
    const [event] = await settledEvents('lifecycle.subscriptionRemoved');
    expect(event?.status).toBe('applied');
    expect(event?.detail).toMatch(new RegExp(`subscription ${GROUPS_SUBSCRIPTION} recreated as [0-9a-f-]{36}`));

    const held = await listSubscriptions('entra-a');
    expect(held.map((subscription) => subscription.subscriptionId)).not.toContain(GROUPS_SUBSCRIPTION);
    const replacement = held.find((subscription) => subscription.resource === 'groups');
    expect(replacement).toBeDefined();
    expect(fake.subscriptions.has(replacement?.subscriptionId ?? '')).toBe(true);

    expect(await statuses(leaver.userId)).toEqual({ contoso: 'deleted' });
    expect(await statuses(stayer.userId)).toEqual({ contoso: 'active' });
  });

  it('missed reconciles the connection', async () => {
    const leaver = await entraUser(['northwind']);
    const stayer = await entraUser(['northwind']);
    fake.setGroupMembers(GROUP_NORTHWIND, [stayer.objectId]);
    fake.setGroupMembers(GROUP_CONTOSO, []);
    await postLifecycle('graph-lifecycle-missed.json', USERS_SUBSCRIPTION);
    const [event] = await settledEvents('lifecycle.missed');
    expect(event?.status).toBe('applied');
    expect(await statuses(leaver.userId)).toEqual({ northwind: 'deleted' });
    expect(await statuses(stayer.userId)).toEqual({ northwind: 'active' });
  });
});

describe('reconcile', () => {
  it('with a failing page deletes nothing and fails the event', async () => {
    const user = await entraUser(['contoso']);
    fake.memberPageSize = 1;
    fake.setGroupMembers(GROUP_CONTOSO, ['00000000-0000-4000-8000-0000000f0001', '00000000-0000-4000-8000-0000000f0002']);
    fake.failNext({ method: 'GET', pathPrefix: '/v1.0/groups/delta?$skiptoken', status: 500, times: 100 });
    const connection = await getConnection('entra-a');
    await expect(reconcileDiff(connection!)).rejects.toThrow(/nothing was deleted/);

    const result = await reconcileSchedule({ time: new Date().toISOString() } as never, lambdaContext('reconcile'));
    expect(result.queued).toEqual(['entra-a', 'entra-b']);
    const events = await settledEvents('reconcile');
    const entraA = events.find((event) => event.connectionId === 'entra-a');
    expect(entraA).toMatchObject({ status: 'failed' });
    expect(entraA?.detail).toMatch(/nothing was deleted/);
    expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
  });

  /** The user as Entra has them: checkMemberGroups answers for a user Graph knows. */
  const inEntra = (objectId: string) => fake.setUser({ id: objectId, mail: `${objectId}@example.com`, userPrincipalName: `${objectId}@example.com`, accountEnabled: true });
  const checkMemberGroupsOf = (objectId: string) => fake.requests.filter((request) => request.path.includes(`/users/${objectId}/checkMemberGroups`));

  it('keeps a user granted only through a nested group, removes one in no group even through nesting, and asks Graph only about users it would remove', async () => {
    const nested = await entraUser(['northwind']);
    const leaver = await entraUser(['northwind']);
    const direct = await entraUser(['northwind']);
    for (const user of [nested, leaver, direct]) inEntra(user.objectId);
    fake.setGroupMembers(GROUP_NESTED, [nested.objectId]);
    fake.setGroupMembers(GROUP_NORTHWIND, [direct.objectId, GROUP_NESTED]);
    await postLifecycle('graph-lifecycle-missed.json', USERS_SUBSCRIPTION);
    const [event] = await settledEvents('lifecycle.missed');
    expect(event?.status).toBe('applied');
    expect(event?.detail).toMatch(/kept through nested groups/);
    expect(await statuses(nested.userId)).toEqual({ northwind: 'active' });
    expect(await statuses(leaver.userId)).toEqual({ northwind: 'deleted' });
    expect(await statuses(direct.userId)).toEqual({ northwind: 'active' });
    expect(checkMemberGroupsOf(nested.objectId)).toHaveLength(1);
    expect(checkMemberGroupsOf(leaver.objectId)).toHaveLength(1);
    expect(checkMemberGroupsOf(direct.objectId)).toHaveLength(0);
  });

  it('with a failing checkMemberGroups deletes nothing', async () => {
    const user = await entraUser(['northwind']);
    inEntra(user.objectId);
    fake.failNext({ method: 'POST', pathPrefix: `/v1.0/users/${user.objectId}/checkMemberGroups`, status: 500, times: 100 });
    const connection = await getConnection('entra-a');
    await expect(reconcileDiff(connection!)).rejects.toThrow(/nothing was deleted/);
    expect(await statuses(user.userId)).toEqual({ northwind: 'active' });
  });

  it('a dry run lists who would lose which account and writes nothing', async () => {
    const leaver = await entraUser(['contoso', 'northwind']);
    const stayer = await entraUser(['contoso']);
    fake.setGroupMembers(GROUP_CONTOSO, [stayer.objectId, leaver.objectId]);
    fake.setGroupMembers(GROUP_NORTHWIND, []);
    const progress: string[] = [];
    const connection = await getConnection('entra-a');
    const diff = await reconcileDiff(connection!, { onProgress: (message) => progress.push(message) });
    expect(diff.removals.filter((removal) => removal.userId === leaver.userId)).toEqual([{ userId: leaver.userId, objectId: leaver.objectId, accountId: 'northwind' }]);
    expect(diff.removals.some((removal) => removal.userId === stayer.userId)).toBe(false);
    expect(progress.some((line) => line.includes('granting group'))).toBe(true);
    expect(await statuses(leaver.userId)).toEqual({ contoso: 'active', northwind: 'active' });
  });
});

describe('an Entra reconciliation that crashed after its soft-deletes, before signing anyone out', () => {
  it("signs out, on the stream's retry of the same event, whom its first attempt removed; nothing is deleted twice", async () => {
    const userPoolId = await createUserPool();
    const leaver = await entraUser(['contoso', 'northwind']);
    fake.setUser({ id: leaver.objectId, mail: `${leaver.objectId}@example.com`, userPrincipalName: `${leaver.objectId}@example.com`, accountEnabled: true });
    // Signed in through Cognito, as a sign-in leaves the identity.
    const username = `EntraA_${leaver.objectId}`;
    await createFederatedUser(userPoolId, username, `${leaver.objectId}@example.com`);
    await nameCognitoUserOnIdentity('entra-a', leaver.objectId, username, userPoolId);
    // The crash (a Lambda timeout, say): the first attempt's first read after its commit, the
    // user's identity for the sign-out, fails; the stream retries the same record.
    failTimesWhenMentioning(['GetItemCommand'], `SUBJECT#${leaver.objectId}`, 1);
    const signOuts: string[] = [];
    const counter = 'countEntraReconcileSignOuts';
    cognitoClient.middlewareStack.add(
      ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        if (context.commandName === 'AdminUserGlobalSignOutCommand') signOuts.push(JSON.stringify(args));
        return next(args);
      }) as never,
      { step: 'initialize', name: counter },
    );
    let event: Record<string, unknown> | undefined;
    try {
      // A trigger of its own: a schedule run of this minute (an earlier test's) has the same event id.
      const { eventId } = await storeReconcileRequest({ connectionId: 'entra-a', trigger: 'crash-test', receivedAt: new Date(), retentionDays: 1 });
      event = (await settledEvents('reconcile')).find((candidate) => candidate.eventId === eventId);
    } finally {
      clearFaults();
      cognitoClient.middlewareStack.remove(counter);
    }

    expect(event).toMatchObject({ status: 'applied', attempts: 1, detail: expect.stringMatching(/soft-deleted membership in .*contoso.*northwind/) });
    expect(await statuses(leaver.userId)).toEqual({ contoso: 'deleted', northwind: 'deleted' });
    // Signed out by the retry, and recorded on the event.
    expect(signOuts.filter((call) => call.includes(username))).toHaveLength(1);
    expect(event?.revocation).toMatchObject({ status: 'done', detail: expect.stringContaining('signed out everywhere') });
    // Deleted once: one audit entry per membership.
    const audit = (await itemsOf('Audit')).filter((entry) => entry.eventId === event?.eventId && entry.userId === leaver.userId);
    expect(audit.map((entry) => `${entry.action} ${entry.accountId}`).sort()).toEqual(['membership.soft_deleted contoso', 'membership.soft_deleted northwind']);
  });
});

describe('npm run reconcile', () => {
  const run = promisify(execFile);
  const target = () => ['--endpoint', process.env.DYNAMODB_ENDPOINT ?? '', '--table', process.env.TABLE_NAME ?? ''];
  const cli = async (args: string[]) => {
    try {
      return { code: 0, ...(await run('node_modules/.bin/tsx', ['scripts/reconcile.ts', ...args], { env: process.env })) };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  };

  // Three CLI runs (tsx starting each): generous for a loaded machine.
  it('shows progress and the diff; --dry-run writes nothing, a real run soft-deletes and records the outcome', { timeout: 90_000 }, async () => {
    const leaver = await entraUser(['northwind']);
    const stayer = await entraUser(['northwind']);
    fake.setGroupMembers(GROUP_NORTHWIND, [stayer.objectId]);
    fake.setGroupMembers(GROUP_CONTOSO, []);

    const dry = await cli(['entra-a', '--dry-run', ...target()]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/granting group/);
    expect(dry.stdout).toContain(`- northwind: user ${leaver.userId} (object id ${leaver.objectId})`);
    expect(dry.stdout).not.toContain(stayer.userId);
    expect(dry.stdout).toMatch(/Dry run: \d+ membership\(s\) would be soft-deleted; nothing was written/);
    expect(await statuses(leaver.userId)).toEqual({ northwind: 'active' });

    const real = await cli(['entra-a', ...target()]);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^applied: reconciled \d+ group\(s\)/m);
    expect(await statuses(leaver.userId)).toEqual({ northwind: 'deleted' });
    expect(await statuses(stayer.userId)).toEqual({ northwind: 'active' });
    // The stream leaves the command line's own request alone.
    const [request] = (await settledEvents('reconcile')).filter((event) => String(event.eventId).startsWith('reconcile-cli-'));
    expect(request?.status).toBe('applied');
  });

  it('exits 1 without deleting anything when a member list cannot be read', async () => {
    const user = await entraUser(['contoso']);
    fake.failNext({ method: 'GET', pathPrefix: '/v1.0/groups/delta', status: 500, times: 100 });
    const result = await cli(['entra-a', ...target()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nothing was deleted/);
    expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
  });
});
