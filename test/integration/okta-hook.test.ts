/**
 * The Okta event hook receiver against DynamoDB Local, with Okta's wire format: every refusal
 * has its status and stores nothing; every accepted delivery is stored before the 200.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture, oktaDelivery, oktaDeliveryFixture, oktaLogEvent } from '../helpers/fixtures.js';
import { createSeededTable, itemsOf, SECRET_A1, SECRET_A2, SECRET_B } from '../helpers/stack.js';
import { getOktaHook, postToOktaHook } from '../helpers/okta.js';

const verify = fixture('okta-verify.json');
const challenge = verify.headers['x-okta-verification-challenge'] as string;

async function inboxCount(): Promise<number> {
  return (await itemsOf('InboxEvent')).length;
}

beforeAll(async () => {
  await createSeededTable();
});

describe('one-time verification (GET)', () => {
  it('echoes the challenge to a request carrying a valid secret', async () => {
    const response = await getOktaHook('okta-a', { ...verify.headers, authorization: SECRET_A1 });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(response.body ?? '')).toEqual({ verification: challenge });
  });

  it('refuses a wrong secret without echoing the challenge', async () => {
    const response = await getOktaHook('okta-a', { ...verify.headers, authorization: SECRET_B });
    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain(challenge);
  });

  it('refuses a missing secret', async () => {
    const { authorization: _, ...withoutSecret } = verify.headers;
    expect((await getOktaHook('okta-a', withoutSecret)).statusCode).toBe(401);
  });

  it('answers 400 to an authenticated GET without the challenge header', async () => {
    expect((await getOktaHook('okta-a', { authorization: SECRET_A1 })).statusCode).toBe(400);
  });

  it('answers 404 for an unknown connection', async () => {
    expect((await getOktaHook('no-such-org', { ...verify.headers, authorization: SECRET_A1 })).statusCode).toBe(404);
  });
});

describe('deliveries (POST) that are refused store nothing', () => {
  let before = 0;
  beforeEach(async () => {
    before = await inboxCount();
  });

  const delivery = () => oktaDelivery([oktaLogEvent('okta-group-membership-remove.json')]);

  it('401 without the authorization header', async () => {
    const response = await postToOktaHook('okta-a', delivery(), {});
    expect(response.statusCode).toBe(401);
    expect(await inboxCount()).toBe(before);
  });

  it('401 with another connection’s secret', async () => {
    const response = await postToOktaHook('okta-a', delivery(), { authorization: SECRET_B });
    expect(response.statusCode).toBe(401);
    expect(await inboxCount()).toBe(before);
  });

  it('401 with a secret that differs only in its last character', async () => {
    const response = await postToOktaHook('okta-a', delivery(), { authorization: `${SECRET_A1.slice(0, -1)}1` });
    expect(response.statusCode).toBe(401);
    expect(await inboxCount()).toBe(before);
  });

  it('404 for an unknown connection, and for an id that could not be one', async () => {
    expect((await postToOktaHook('okta-zz', delivery(), { authorization: SECRET_A1 })).statusCode).toBe(404);
    expect((await postToOktaHook('okta#a', delivery(), { authorization: SECRET_A1 })).statusCode).toBe(404);
    expect(await inboxCount()).toBe(before);
  });

  it('400 for a body that is not JSON', async () => {
    const response = await postToOktaHook('okta-a', '{"eventType": "com.okta.event_hook", ', { authorization: SECRET_A1 });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '').error).toMatch(/JSON/);
    expect(await inboxCount()).toBe(before);
  });

  it('400 for JSON that is not an event hook envelope', async () => {
    const notAHook = { ...delivery(), eventType: 'com.okta.oauth2.tokens.transform' };
    const eventWithoutUuid = oktaDelivery([{ ...oktaLogEvent('okta-user-deactivate.json'), uuid: undefined as never }]);
    expect((await postToOktaHook('okta-a', notAHook, { authorization: SECRET_A1 })).statusCode).toBe(400);
    expect((await postToOktaHook('okta-a', eventWithoutUuid, { authorization: SECRET_A1 })).statusCode).toBe(400);
    expect((await postToOktaHook('okta-a', [], { authorization: SECRET_A1 })).statusCode).toBe(400);
    expect(await inboxCount()).toBe(before);
  });

  it('413 for a body over 1 MiB, before anything else is looked at', async () => {
    const padded = { ...delivery(), padding: 'x'.repeat(1024 * 1024) };
    const response = await postToOktaHook('okta-a', padded, { authorization: SECRET_A1 });
    expect(response.statusCode).toBe(413);
    expect(await inboxCount()).toBe(before);
  });
});

describe('deliveries that are accepted', () => {
  it('stores an event and answers an empty 200', async () => {
    const event = oktaLogEvent('okta-group-membership-remove.json');
    const response = await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 });
    expect(response).toMatchObject({ statusCode: 200, body: '' });
    const stored = (await itemsOf('InboxEvent')).find((item) => item.eventId === event.uuid);
    expect(stored).toMatchObject({ connectionId: 'okta-a', status: 'pending', eventType: 'group.user_membership.remove' });
    // Only the fields the processor needs are kept: no IPs, user agents or geolocation.
    expect(JSON.stringify(stored)).not.toContain('192.0.2.10');
  });

  it('accepts both secrets of a rotation', async () => {
    for (const secret of [SECRET_A1, SECRET_A2]) {
      const event = oktaLogEvent('okta-user-deactivate.json');
      const response = await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: secret });
      expect(response.statusCode).toBe(200);
      expect((await itemsOf('InboxEvent')).some((item) => item.eventId === event.uuid)).toBe(true);
    }
  });

  it('finds the secret header whatever its case', async () => {
    const event = oktaLogEvent('okta-user-deactivate.json');
    const response = await postToOktaHook('okta-a', oktaDelivery([event]), { Authorization: SECRET_A1 });
    expect(response.statusCode).toBe(200);
  });

  it('keeps only the event types it acts on from a mixed batch', async () => {
    const body = structuredClone(oktaDeliveryFixture('okta-batch.json'));
    for (const event of body.data.events) event.uuid = crypto.randomUUID();
    const response = await postToOktaHook('okta-a', body, { authorization: SECRET_A1 });
    expect(response.statusCode).toBe(200);
    const storedTypes = (await itemsOf('InboxEvent'))
      .filter((item) => body.data.events.some((event) => event.uuid === item.eventId))
      .map((item) => item.eventType)
      .sort();
    // user.session.start is dropped; the remove, the re-add and the deactivation are kept.
    expect(storedTypes).toEqual(['group.user_membership.add', 'group.user_membership.remove', 'user.lifecycle.deactivate']);
  });

  it('stores an event over a bound without its over-long values, marked invalid, and answers 200', async () => {
    const hugeLogin = oktaLogEvent('okta-user-deactivate.json');
    hugeLogin.target = (hugeLogin.target ?? []).map((target) => ({ ...target, alternateId: `${'a'.repeat(10_000)}@example.com` }));
    const hugeUuid = { ...oktaLogEvent('okta-user-deactivate.json'), uuid: `${crypto.randomUUID()}${'u'.repeat(10_000)}` };
    const valid = oktaLogEvent('okta-user-deactivate.json');
    const response = await postToOktaHook('okta-a', oktaDelivery([hugeLogin, hugeUuid, valid]), { authorization: SECRET_A1 });

    expect(response).toMatchObject({ statusCode: 200, body: '' });
    const items = await itemsOf('InboxEvent');
    const stored = items.find((item) => item.eventId === hugeLogin.uuid);
    expect(stored).toMatchObject({
      status: 'pending',
      invalidReason: 'over a bound: target[0].alternateId: Too big: expected string to have <=254 characters',
      targets: [expect.objectContaining({ type: 'User', alternateId: null })],
    });
    expect(JSON.stringify(stored).length).toBeLessThan(2_000);
    // A uuid too long for a key is stored under a hash of it.
    const hashed = items.filter((item) => item.invalidReason === 'over a bound: uuid: Too big: expected string to have <=128 characters');
    expect(hashed.map((item) => item.eventId)).toEqual([expect.stringMatching(/^sha256-[0-9a-f]{64}$/)]);
    expect(items.find((item) => item.eventId === valid.uuid)).not.toHaveProperty('invalidReason');
  });

  it('accepts a base64-encoded body, as API Gateway passes some', async () => {
    const event = oktaLogEvent('okta-user-delete.json');
    const { handler } = await import('../../functions/okta-hook.js');
    const { httpApiEvent } = await import('../helpers/fixtures.js');
    const { lambdaContext } = await import('../../scripts/lib/local-stream.js');
    const request = httpApiEvent({
      method: 'POST',
      connectionId: 'okta-a',
      headers: { authorization: SECRET_A1, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(oktaDelivery([event]))).toString('base64'),
      isBase64Encoded: true,
    });
    const response = await handler(request, lambdaContext('okta-hook'));
    expect(response).toMatchObject({ statusCode: 200 });
    expect((await itemsOf('InboxEvent')).some((item) => item.eventId === event.uuid)).toBe(true);
  });
});
