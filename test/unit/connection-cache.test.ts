/**
 * The warm-container connection cache, with a fake load and a fake clock: hits within the TTL
 * cost nothing, misses are remembered too, failures are not.
 */
import { describe, expect, it } from 'vitest';
import { cachedConnectionLookup, type Connection } from '../../shared/store/connections.js';

const TTL_MS = 60_000;

function connection(connectionId: string): Connection {
  return {
    connectionId,
    type: 'okta',
    providerNames: ['Okta'],
    hookAuthHeader: 'authorization',
    hookSecretHashes: ['0'.repeat(64)],
    deprovisionOnDisable: true,
    deprovisionOnSuspend: true,
  };
}

/** A load that records its calls and answers from `known`, or with the next queued failure. */
function fakeLoad(known: Record<string, Connection> = {}) {
  const calls: string[] = [];
  const failures: Error[] = [];
  const load = async (connectionId: string): Promise<Connection | undefined> => {
    calls.push(connectionId);
    const failure = failures.shift();
    if (failure) throw failure;
    return known[connectionId];
  };
  return { load, calls, failures };
}

function fakeClock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

describe('cachedConnectionLookup', () => {
  it('loads a connection on first use and answers a second call within the TTL from the cache', async () => {
    const { load, calls } = fakeLoad({ 'okta-a': connection('okta-a') });
    const clock = fakeClock();
    const lookup = cachedConnectionLookup(TTL_MS, load, clock.now);

    expect(await lookup('okta-a')).toEqual(connection('okta-a'));
    clock.advance(TTL_MS - 1);
    expect(await lookup('okta-a')).toEqual(connection('okta-a'));
    expect(calls).toEqual(['okta-a']);
  });

  it('loads again once the TTL has passed', async () => {
    const { load, calls } = fakeLoad({ 'okta-a': connection('okta-a') });
    const clock = fakeClock();
    const lookup = cachedConnectionLookup(TTL_MS, load, clock.now);

    await lookup('okta-a');
    clock.advance(TTL_MS);
    expect(await lookup('okta-a')).toEqual(connection('okta-a'));
    expect(calls).toEqual(['okta-a', 'okta-a']);
  });

  it('sees a changed connection after the TTL (a rotated secret takes effect)', async () => {
    const known = { 'okta-a': connection('okta-a') };
    const { load } = fakeLoad(known);
    const clock = fakeClock();
    const lookup = cachedConnectionLookup(TTL_MS, load, clock.now);

    await lookup('okta-a');
    known['okta-a'] = { ...connection('okta-a'), hookSecretHashes: ['1'.repeat(64)] };
    expect((await lookup('okta-a'))?.hookSecretHashes).toEqual(['0'.repeat(64)]);
    clock.advance(TTL_MS + 1);
    expect((await lookup('okta-a'))?.hookSecretHashes).toEqual(['1'.repeat(64)]);
  });

  it('caches a miss, so repeated requests for an unknown id read once', async () => {
    const { load, calls } = fakeLoad();
    const clock = fakeClock();
    const lookup = cachedConnectionLookup(TTL_MS, load, clock.now);

    for (let request = 0; request < 5; request++) expect(await lookup('no-such-org')).toBeUndefined();
    expect(calls).toEqual(['no-such-org']);
    clock.advance(TTL_MS);
    await lookup('no-such-org');
    expect(calls).toHaveLength(2);
  });

  it('does not remember a failed load: the next call loads again', async () => {
    const { load, calls, failures } = fakeLoad({ 'okta-a': connection('okta-a') });
    failures.push(new Error('ProvisionedThroughputExceededException'));
    const lookup = cachedConnectionLookup(TTL_MS, load, fakeClock().now);

    await expect(lookup('okta-a')).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(await lookup('okta-a')).toEqual(connection('okta-a'));
    expect(calls).toEqual(['okta-a', 'okta-a']);
  });

  it('shares one load between concurrent calls for the same id', async () => {
    const { load, calls } = fakeLoad({ 'okta-a': connection('okta-a') });
    const lookup = cachedConnectionLookup(TTL_MS, load, fakeClock().now);

    const answers = await Promise.all([lookup('okta-a'), lookup('okta-a'), lookup('okta-a')]);
    expect(answers).toEqual([connection('okta-a'), connection('okta-a'), connection('okta-a')]);
    expect(calls).toEqual(['okta-a']);
  });

  it('keeps each connection id apart', async () => {
    const { load, calls } = fakeLoad({ 'okta-a': connection('okta-a'), 'okta-b': connection('okta-b') });
    const lookup = cachedConnectionLookup(TTL_MS, load, fakeClock().now);

    expect((await lookup('okta-a'))?.connectionId).toBe('okta-a');
    expect((await lookup('okta-b'))?.connectionId).toBe('okta-b');
    expect((await lookup('okta-a'))?.connectionId).toBe('okta-a');
    expect(calls).toEqual(['okta-a', 'okta-b']);
  });

  it('a TTL of zero turns the cache off', async () => {
    const { load, calls } = fakeLoad({ 'okta-a': connection('okta-a') });
    const lookup = cachedConnectionLookup(0, load, fakeClock().now);

    await lookup('okta-a');
    await lookup('okta-a');
    expect(calls).toEqual(['okta-a', 'okta-a']);
  });

  it('stays bounded: past 1000 ids the oldest entry is dropped and loaded again', async () => {
    const { load, calls } = fakeLoad();
    const lookup = cachedConnectionLookup(TTL_MS, load, fakeClock().now);

    for (let index = 0; index <= 1000; index++) await lookup(`org-${index}`);
    expect(calls).toHaveLength(1001);
    await lookup('org-1');
    expect(calls).toHaveLength(1001);
    await lookup('org-0');
    expect(calls).toHaveLength(1002);
  });
});
