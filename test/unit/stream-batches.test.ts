/** The dead-letter replay reads overlapping batches of a shard as one range, and nothing else merged. */
import { describe, expect, it, vi } from 'vitest';
import { mergedRanges } from '../../shared/store/stream-batches.js';

const STREAM = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000';
const batch = (shardId: string, start: string, end: string) => ({ DDBStreamBatchInfo: { shardId, startSequenceNumber: start, endSequenceNumber: end, streamArn: STREAM } });

describe('mergedRanges', () => {
  it('merges overlapping batches of one shard, keeps the first sequence number as written, and leaves other shards and gaps apart', () => {
    const a = batch('shard-1', '000100', '000300');
    const b = batch('shard-1', '000200', '000500');
    const c = batch('shard-1', '000700', '000800');
    const d = batch('shard-2', '000100', '000900');
    const ranges = mergedRanges([c, b, d, a]);
    expect(ranges.map(({ shardId, start, end, startText, batches }) => ({ shardId, start, end, startText, batches: batches.length }))).toEqual([
      { shardId: 'shard-1', start: 100n, end: 500n, startText: '000100', batches: 2 },
      { shardId: 'shard-1', start: 700n, end: 800n, startText: '000700', batches: 1 },
      { shardId: 'shard-2', start: 100n, end: 900n, startText: '000100', batches: 1 },
    ]);
  });

  it('leaves out a batch whose sequence numbers are not numbers', () => {
    expect(mergedRanges([batch('shard-1', 'x', '1')])).toEqual([]);
  });
});

describe('inboxEventsInRange', () => {
  const record = (sequenceNumber: number, eventId: string) => ({
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: String(sequenceNumber).padStart(6, '0'),
      Keys: { pk: { S: `EVENT#okta-a#${eventId}` }, sk: { S: 'EVENT' } },
      NewImage: { pk: { S: `EVENT#okta-a#${eventId}` }, sk: { S: 'EVENT' }, entity: { S: 'InboxEvent' }, status: { S: 'pending' }, attempts: { N: '0' } },
    },
  });

  /** A stream client answering these pages in turn (GetShardIterator first), counting the GetRecords calls. */
  async function withPages(pages: unknown[][]) {
    const { streamsClient } = await import('../../shared/store/stream-batches.js');
    let calls = 0;
    const spy = vi.spyOn(streamsClient, 'send').mockImplementation((async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetShardIteratorCommand') return { ShardIterator: 'iterator-0' };
      const page = pages[calls] ?? [];
      calls += 1;
      return { Records: page, NextShardIterator: `iterator-${calls}` };
    }) as never);
    return { calls: () => calls, restore: () => spy.mockRestore() };
  }

  it('reads on past empty pages (GetRecords may answer one before records further on) and stops at the range’s last record', async () => {
    const { inboxEventsInRange } = await import('../../shared/store/stream-batches.js');
    const stream = await withPages([[record(100, 'a')], [], [], [record(150, 'b'), record(200, 'c')], [record(300, 'd')]]);
    try {
      const events = await inboxEventsInRange({ streamArn: STREAM, shardId: 'shard-1', start: 100n, end: 200n, startText: '000100' }, Date.now() + 5_000);
      expect(events).not.toBe('gone');
      expect((events as Array<{ key: { pk: string }; image: Record<string, unknown> }>).map(({ key, image }) => [key.pk, image.attempts])).toEqual([
        ['EVENT#okta-a#a', 0],
        ['EVENT#okta-a#b', 0],
        ['EVENT#okta-a#c', 0],
      ]);
      // The page holding the range's last record is the last one read.
      expect(stream.calls()).toBe(4);
    } finally {
      stream.restore();
    }
  });

  it('gives up at the deadline when the range’s end never comes: unfinished, so the messages go back', async () => {
    const { inboxEventsInRange } = await import('../../shared/store/stream-batches.js');
    const stream = await withPages([]);
    try {
      expect(await inboxEventsInRange({ streamArn: STREAM, shardId: 'shard-1', start: 100n, end: 200n, startText: '000100' }, Date.now() + 50)).toBe('unfinished');
    } finally {
      stream.restore();
    }
  });
});
