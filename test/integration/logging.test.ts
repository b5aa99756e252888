/** The logs say what happened, with the event id as correlation id, and never carry secrets, emails or payloads. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { oktaDelivery, oktaLogEvent, withUser } from '../helpers/fixtures.js';
import { addUser, createSeededTable, processUntilSettled, SECRET_A1, SECRET_B } from '../helpers/stack.js';
import { getOktaHook, postToOktaHook } from '../helpers/okta.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Powertools resets the level to the configured one on every warm invocation: configure it before import.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

let stream: LocalStream;
const lines: string[] = [];

beforeAll(async () => {
  stream = await createSeededTable();
  // Powertools writes INFO to stdout and WARN/ERROR to stderr: capture both.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      const text = chunk.toString();
      if (!text.startsWith('{')) return write(chunk);
      lines.push(...text.split('\n').filter(Boolean));
      return true;
    }) as typeof stream.write);
  }
});

afterAll(() => {
  vi.restoreAllMocks();
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
});
