/**
 * Okta System Log polling against a fake Okta org (HTTPS, polling semantics, a next link on every
 * page, injected 429s and 5xx), the connection and the inbox in DynamoDB Local, the API token in
 * moto's Secrets Manager, and the real stream processor applying what was stored.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startFakeOkta, type FakeLogEvent, type FakeOkta } from '../../scripts/lib/fake-okta.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';
import { graphAppSecret } from '../helpers/secrets.js';
import { createSeededTable, itemsOf, membership, processUntilSettled, SECRET_A1 } from '../helpers/stack.js';
import { oktaDelivery, oktaLogEvent, withGroup, withUser } from '../helpers/fixtures.js';
import { postToOktaHook } from '../helpers/okta.js';
import { DEFAULT_OKTA_EVENT_TYPES } from '../../shared/config.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { getConnection } from '../../shared/store/connections.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { getOktaLogCursor } from '../../shared/store/okta-log-cursor.js';
import { isPollable, pollAllConnections, pollConnection, type PollableConnection, type PollSettings } from '../../shared/app/okta-log-poller.js';

const CONNECTION = 'okta-a';
const TOKEN_REF = `sso-sync/test-poll-${crypto.randomUUID().slice(0, 8)}/okta-a/okta-api-token`;

let okta: FakeOkta;
let stream: LocalStream;
let apiToken: string;

const settings: PollSettings = {
  actedOnTypes: new Set(DEFAULT_OKTA_EVENT_TYPES),
  lookbackMinutes: 60,
  maxPages: 5,
  retentionDays: 90,
  pageSize: 2,
  maxRateLimitWaitMs: 3_000,
};

beforeAll(async () => {
  [stream, okta] = await Promise.all([createSeededTable(), startFakeOkta()]);
  apiToken = await graphAppSecret(TOKEN_REF, `00PollToken-${crypto.randomUUID()}`);
  // okta-a, as POST /admin/connections with an api_token leaves it: its org URL and the token's reference.
  await documentClient.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.connection(CONNECTION),
      UpdateExpression: 'SET orgUrl = :orgUrl, oktaApiTokenRef = :ref',
      ExpressionAttributeValues: { ':orgUrl': okta.orgUrl, ':ref': TOKEN_REF },
    }),
  );
});

afterAll(async () => {
  await okta?.stop();
});

beforeEach(async () => {
  okta.reset();
  okta.addApiToken(apiToken);
  await documentClient.send(new DeleteCommand({ TableName: tableName, Key: keys.oktaLogCursor(CONNECTION) }));
});

async function connection(): Promise<PollableConnection> {
  const found = await getConnection(CONNECTION, { consistent: true });
  if (!isPollable(found)) throw new Error('okta-a is not pollable');
  return found;
}

const poll = async (overrides: Partial<PollSettings> = {}) => pollConnection(await connection(), { ...settings, ...overrides });
const cursor = async () => (await getOktaLogCursor(CONNECTION))?.nextUrl;

const removedFrom = (email: string, group: string) => withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), group);
const asLogged = (event: ReturnType<typeof oktaLogEvent>) => event as unknown as FakeLogEvent;

async function auditsOf(eventId: string) {
  return (await itemsOf('Audit')).filter((entry) => entry.eventId === eventId);
}

describe('polling the System Log of an Okta connection with an API token', () => {
  it('stores a removal the hook never delivered, and the stream applies it: the membership is soft-deleted', async () => {
    expect((await membership('alex.doe@example.com', 'acme'))?.status).toBe('active');
    const removal = removedFrom('alex.doe@example.com', 'Finance-Approvers');
    okta.addLogEvent(asLogged(oktaLogEvent('okta-user-deactivate.json', { eventType: 'user.session.start' })));
    okta.addLogEvent(asLogged(removal));

    const report = await poll();

    expect(report).toMatchObject({ stoppedBy: 'caughtUp', pages: 2, received: 1, stored: 1, duplicates: 0, requests: 2 });
    // A polling request: since, ASCENDING, the acted-on types as a filter, never until; then the next link.
    const [first, second] = okta.logRequests().map((request) => new URL(request, okta.orgUrl).searchParams);
    expect(first?.get('sortOrder')).toBe('ASCENDING');
    expect(first?.has('until')).toBe(false);
    expect(first?.get('filter')).toBe(DEFAULT_OKTA_EVENT_TYPES.map((type) => `eventType eq "${type}"`).join(' or '));
    expect(second?.has('after')).toBe(true);
    expect(second?.has('since')).toBe(false);

    await processUntilSettled(stream, CONNECTION, [removal.uuid]);
    expect((await getInboxEvent(CONNECTION, removal.uuid))?.status).toBe('applied');
    expect((await membership('alex.doe@example.com', 'acme'))?.status).toBe('deleted');
    expect(await auditsOf(removal.uuid)).toHaveLength(1);
  });

  it('applies an event that came by the hook and by the poll once, with one audit entry per account', async () => {
    const removal = removedFrom('riley.chen@example.com', 'Payroll-Admins');
    expect((await postToOktaHook(CONNECTION, oktaDelivery([removal]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    await processUntilSettled(stream, CONNECTION, [removal.uuid]);
    const audits = await auditsOf(removal.uuid);
    expect(audits.map((entry) => entry.accountId).sort()).toEqual(['acme', 'globex']);
    const processed = await getInboxEvent(CONNECTION, removal.uuid);

    okta.addLogEvent(asLogged(removal));
    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', received: 1, stored: 0, duplicates: 1 });
    await processUntilSettled(stream, CONNECTION, [removal.uuid]);

    expect(await getInboxEvent(CONNECTION, removal.uuid)).toEqual(processed);
    expect(await auditsOf(removal.uuid)).toHaveLength(2);
  });

  it('starts the first run at now minus the lookback', async () => {
    const now = new Date();
    const old = oktaLogEvent('okta-user-deactivate.json');
    const recent = oktaLogEvent('okta-user-deactivate.json');
    okta.addLogEvent(asLogged(old), new Date(now.getTime() - 61 * 60_000));
    okta.addLogEvent(asLogged(recent), new Date(now.getTime() - 59 * 60_000));

    expect(await poll({ now: () => now })).toMatchObject({ stoppedBy: 'caughtUp', received: 1, stored: 1 });

    expect(new URL(okta.logRequests()[0] ?? '', okta.orgUrl).searchParams.get('since')).toBe(new Date(now.getTime() - 60 * 60_000).toISOString());
    expect(await getInboxEvent(CONNECTION, old.uuid)).toBeUndefined();
    expect(await getInboxEvent(CONNECTION, recent.uuid)).toBeDefined();
  });

  it('saves the next link of an empty page, and then costs one request per run while nothing happens', async () => {
    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', pages: 1, received: 0, requests: 1 });
    const saved = await cursor();
    expect(new URL(saved ?? '', okta.orgUrl).searchParams.has('after')).toBe(true);

    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', requests: 1 });
    expect(okta.logRequests()[1]).toBe(saved?.slice(okta.orgUrl.length));

    // What comes later is found from that link.
    const later = oktaLogEvent('okta-user-deactivate.json');
    okta.addLogEvent(asLogged(later));
    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', stored: 1 });
  });

  it('goes back the lookback from where the cursor last moved when the acted-on event types change', async () => {
    const deactivationsOnly = { actedOnTypes: new Set(['user.lifecycle.deactivate']) };
    await poll(deactivationsOnly);
    const removal = removedFrom('nobody@example.com', 'Finance-Approvers');
    okta.addLogEvent(asLogged(removal));
    // The old filter does not ask for it, and its cursor moves past it.
    expect(await poll(deactivationsOnly)).toMatchObject({ received: 0 });
    const moved = await getOktaLogCursor(CONNECTION);

    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', stored: 1 });
    const restart = new URL(okta.logRequests().at(-2) ?? '', okta.orgUrl).searchParams;
    expect(restart.get('since')).toBe(new Date(Date.parse(moved?.updatedAt ?? '') - 60 * 60_000).toISOString());
    expect(restart.get('filter')).toContain('group.user_membership.remove');
    expect(await getInboxEvent(CONNECTION, removal.uuid)).toBeDefined();
  });

  it('reads at most maxPages pages a run and goes on from there the next time', async () => {
    const events = Array.from({ length: 5 }, () => oktaLogEvent('okta-user-deactivate.json'));
    for (const event of events) okta.addLogEvent(asLogged(event));

    expect(await poll({ maxPages: 2 })).toMatchObject({ stoppedBy: 'maxPages', pages: 2, stored: 4 });
    expect(await poll({ maxPages: 2 })).toMatchObject({ stoppedBy: 'caughtUp', pages: 2, stored: 1 });
    for (const event of events) expect(await getInboxEvent(CONNECTION, event.uuid)).toBeDefined();
  });

  it('leaves the cursor where it was on a 5xx, reports the failure, and loses nothing', async () => {
    await poll();
    const before = await cursor();
    const event = oktaLogEvent('okta-user-deactivate.json');
    okta.addLogEvent(asLogged(event));
    okta.failNext({ pathPrefix: '/api/v1/logs', status: 503, times: 1 });

    expect(await poll()).toMatchObject({ stoppedBy: 'failed', failure: expect.stringContaining('503'), stored: 0 });
    expect(await cursor()).toBe(before);
    expect(await getInboxEvent(CONNECTION, event.uuid)).toBeUndefined();

    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', stored: 1 });
    expect(await getInboxEvent(CONNECTION, event.uuid)).toBeDefined();
  });

  it('stops on a 429 that resets later than it will wait, without moving the cursor; the next run picks the events up', async () => {
    await poll();
    const before = await cursor();
    const event = oktaLogEvent('okta-user-deactivate.json');
    okta.addLogEvent(asLogged(event));
    okta.failNext({ pathPrefix: '/api/v1/logs', status: 429, times: 1, resetInSeconds: 60 });

    const limited = await poll();
    expect(limited).toMatchObject({ stoppedBy: 'rateLimited', requests: 1, stored: 0 });
    expect(Date.parse(limited.retryAfter ?? '')).toBeGreaterThan(Date.now() + 30_000);
    expect(await cursor()).toBe(before);

    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', stored: 1 });
  });

  it('waits out a 429 that resets soon, once, and carries on', async () => {
    const event = oktaLogEvent('okta-user-deactivate.json');
    okta.addLogEvent(asLogged(event));
    okta.failNext({ pathPrefix: '/api/v1/logs', status: 429, times: 1, resetInSeconds: 1 });

    expect(await poll()).toMatchObject({ stoppedBy: 'caughtUp', stored: 1, requests: 3 });
  });
});

describe('polling every connection', () => {
  it('polls the active Okta connections with an API token, and fails the run if one failed', async () => {
    expect(await pollAllConnections(settings)).toMatchObject({ connections: 1, reports: [{ connectionId: CONNECTION, stoppedBy: 'caughtUp' }] });

    okta.failNext({ pathPrefix: '/api/v1/logs', status: 500, times: 1 });
    const failed = pollAllConnections(settings);
    await expect(failed).rejects.toThrow(/1 Okta connection\(s\).*okta-a/);
    // The error carries every connection's report, the failed one's reason included.
    await expect(failed).rejects.toMatchObject({ reports: [{ connectionId: CONNECTION, stoppedBy: 'failed', failure: expect.stringContaining('500') }] });
  });

  it('leaves a deactivated connection alone', async () => {
    const set = (expression: string) => documentClient.send(new UpdateCommand({ TableName: tableName, Key: keys.connection(CONNECTION), UpdateExpression: expression, ...(expression.startsWith('SET') ? { ExpressionAttributeValues: { ':at': new Date().toISOString() } } : {}) }));
    await set('SET deactivatedAt = :at');
    try {
      expect(await pollAllConnections(settings)).toEqual({ connections: 0, reports: [] });
      expect(okta.logRequests()).toEqual([]);
    } finally {
      await set('REMOVE deactivatedAt');
    }
  });

  it('runs as the scheduled poll-okta-logs function, which fails when a connection failed', async () => {
    const { handler } = await import('../../functions/poll-okta-logs.js');
    const { lambdaContext } = await import('../../scripts/lib/local-stream.js');
    const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} } as never;
    const event = oktaLogEvent('okta-user-deactivate.json');
    okta.addLogEvent(asLogged(event));

    expect(await handler(scheduled, lambdaContext('poll-okta-logs'))).toEqual({ connections: 1 });
    expect(await getInboxEvent(CONNECTION, event.uuid)).toBeDefined();

    okta.failNext({ pathPrefix: '/api/v1/logs', status: 502, times: 1 });
    await expect(handler(scheduled, lambdaContext('poll-okta-logs'))).rejects.toThrow(/okta-a/);
  });
});
