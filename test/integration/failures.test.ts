/** Storage failures: Okta gets a 5xx and retries; a failing event is retried, recorded and dead-lettered. */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { oktaDelivery, oktaLogEvent, withGroup, withUser } from '../helpers/fixtures.js';
import { addUser, createSeededTable, itemsOf, membership, processUntilSettled, SECRET_A1 } from '../helpers/stack.js';
import { postToOktaHook } from '../helpers/okta.js';
import { clearFaults, failNext } from '../helpers/faults.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, tableName } from '../../shared/store/client.js';
import { GSI1 } from '../../shared/store/keys.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

afterEach(clearFaults);

/** Event ids the status index lists under a status, as an operator (or the admin API) would read them. */
async function listedAs(status: string): Promise<string[]> {
  const { Items } = await documentClient.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :status AND begins_with(gsi1sk, :connection)',
      ExpressionAttributeValues: { ':status': `EVENTS#${status}`, ':connection': 'okta-a#' },
    }),
  );
  return (Items ?? []).map((item) => String(item.pk).split('#').at(-1) ?? '');
}

const STORE_COMMANDS = ['PutCommand', 'PutItemCommand', 'TransactWriteCommand', 'TransactWriteItemsCommand'];
const TRANSACT_COMMANDS = ['TransactWriteCommand', 'TransactWriteItemsCommand'];

describe('storage failure on receive', () => {
  it('answers 500 so Okta retries, and the retried delivery applies each event once', async () => {
    const email = await addUser('storage.failure@example.com');
    const removal = withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), 'Finance-Approvers');
    const deactivation = withUser(oktaLogEvent('okta-user-deactivate.json'), email);
    const delivery = oktaDelivery([removal, deactivation]);

    failNext(STORE_COMMANDS, 1);
    const failed = await postToOktaHook('okta-a', delivery, { authorization: SECRET_A1 });
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toContain('injected');

    const retried = await postToOktaHook('okta-a', delivery, { authorization: SECRET_A1 });
    expect(retried.statusCode).toBe(200);
    const ids = [removal.uuid, deactivation.uuid];
    await processUntilSettled(stream, 'okta-a', ids);

    expect((await itemsOf('InboxEvent')).filter((item) => ids.includes(item.eventId as string))).toHaveLength(2);
    expect((await itemsOf('Audit')).filter((entry) => ids.includes(entry.eventId as string))).toHaveLength(2);
    expect((await membership(email, 'acme'))?.status).toBe('deleted');
    expect((await membership(email, 'globex'))?.status).toBe('deleted');
  });
});

describe('failure while processing', () => {
  it('falls back to one event at a time when the group commit fails, and loses nothing', async () => {
    const emails = await Promise.all(['group.one@example.com', 'group.two@example.com'].map((email) => addUser(email)));
    const events = emails.map((email) => withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), 'Finance-Approvers'));
    expect((await postToOktaHook('okta-a', oktaDelivery(events), { authorization: SECRET_A1 })).statusCode).toBe(200);
    failNext(TRANSACT_COMMANDS, 1);
    await processUntilSettled(stream, 'okta-a', events.map((event) => event.uuid));
    for (const [index, event] of events.entries()) {
      expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({ status: 'applied', attempts: 0 });
      expect((await membership(emails[index] as string, 'acme'))?.status).toBe('deleted');
    }
  });

  it('retries a transient failure and applies the event, counting the failed attempt', async () => {
    const email = await addUser('transient.failure@example.com');
    const event = withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), 'Finance-Approvers');
    // Two failures: the batch's group commit, then the event's own retry in the same invocation.
    failNext(TRANSACT_COMMANDS, 2);
    await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 });
    await processUntilSettled(stream, 'okta-a', [event.uuid]);
    expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({ status: 'applied', attempts: 1 });
    expect((await membership(email, 'acme'))?.status).toBe('deleted');
    // Once applied, it has left the list of failed events.
    expect(await listedAs('failed')).not.toContain(event.uuid);
  });

  it('records an event that keeps failing as failed, with its error, and dead-letters it', async () => {
    const email = await addUser('permanent.failure@example.com');
    const event = withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), 'Finance-Approvers');
    failNext(TRANSACT_COMMANDS, 100);
    await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 });
    const deadBefore = stream.deadLetters.length;
    await processUntilSettled(stream, 'okta-a', [event.uuid]);

    expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({
      status: 'failed',
      attempts: 3,
      detail: expect.stringContaining('injected'),
    });
    expect(stream.deadLetters.length).toBe(deadBefore + 1);
    expect(await listedAs('failed')).toContain(event.uuid);
    expect((await membership(email, 'acme'))?.status).toBe('active');
  });
});
