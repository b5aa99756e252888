/** The logs say what happened, with the event id as correlation id, and never carry secrets, emails or payloads. */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { captureLogLines } from '../helpers/logs.js';
import { oktaDelivery, oktaLogEvent, withUser } from '../helpers/fixtures.js';
import { addSeedUser, addUser, createSeededTable, GRAPH_CLIENT_STATE, itemsOf, processUntilSettled, SECRET_A1, SECRET_B } from '../helpers/stack.js';
import { about, graphNotification, postToGraphHook } from '../helpers/graph.js';
import { getOktaHook, postToOktaHook } from '../helpers/okta.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Powertools resets the level to the configured one on every warm invocation: configure it before import.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

let stream: LocalStream;
const lines = captureLogLines();

beforeAll(async () => {
  stream = await createSeededTable();
});

describe('logs', () => {
  it('record each decision as JSON without secrets, emails or payload fields', async () => {
    const email = await addUser('private.person@example.com');
    const event = withUser(oktaLogEvent('okta-user-deactivate.json'), email);
    await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 });
    await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_B });
    await postToOktaHook('okta-a', `{"secret":"${SECRET_A1}"`, { authorization: SECRET_A1 });
    await getOktaHook('okta-a', { authorization: SECRET_A1, 'x-okta-verification-challenge': 'challenge-value' });
    await processUntilSettled(stream, 'okta-a', [event.uuid]);

    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const secret of [SECRET_A1, SECRET_B]) expect(all).not.toContain(secret);
    expect(all).not.toContain(email);
    expect(all).not.toContain('192.0.2.10');
    expect(all).not.toContain('Okta Admin');

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const processed = entries.find((entry) => entry.message === 'event processed');
    expect(processed).toMatchObject({
      correlation_id: event.uuid,
      connectionId: 'okta-a',
      status: 'applied',
      user: 'p***@example.com',
    });
    expect(entries.filter((entry) => entry.message === 'request refused').map((entry) => entry.status)).toEqual([401, 400]);
    expect(entries.find((entry) => entry.message === 'okta delivery stored')).toMatchObject({ stored: 1, connectionId: 'okta-a' });
  });

  it('record Graph notifications with the inbox id as correlation id, never the clientState or the email', async () => {
    const objectId = '00000000-0000-4000-8000-0000000a0001';
    await addSeedUser({
      email: 'graph.private@example.com',
      identities: [{ connectionId: 'entra-a', subject: objectId }],
      memberships: [{ accountId: 'contoso', role: 'Author', changedAt: '2025-01-01T00:00:00Z' }],
    });
    const before = lines.length;
    await postToGraphHook('entra-a', { value: [about(graphNotification('graph-user-deleted.json'), objectId)] });
    await postToGraphHook('entra-a', { value: [about(graphNotification('graph-user-deleted.json', { clientState: 'forged-clientstate-000000000000' }), objectId)] });
    const deadline = Date.now() + 10_000;
    let stored: Record<string, unknown> | undefined;
    while (Date.now() < deadline) {
      await stream.drain();
      stored = (await itemsOf('InboxEvent')).find((item) => (item.record as { resourceId?: string } | undefined)?.resourceId === objectId);
      if (stored && stored.status !== 'pending') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const graphLines = lines.slice(before);
    const all = graphLines.join('\n');
    expect(all).not.toContain(GRAPH_CLIENT_STATE);
    expect(all).not.toContain('forged-clientstate');
    expect(all).not.toContain('graph.private@example.com');
    const entries = graphLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.find((entry) => entry.message === 'graph delivery stored')).toMatchObject({ stored: 1, connectionId: 'entra-a' });
    expect(entries.find((entry) => entry.message === 'request refused')).toMatchObject({ status: 401 });
    expect(entries.find((entry) => entry.message === 'graph event processed')).toMatchObject({
      correlation_id: stored?.eventId,
      connectionId: 'entra-a',
      eventType: 'users.deleted',
      status: 'applied',
    });
  });
});
