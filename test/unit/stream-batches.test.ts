/** The dead-letter replay reads overlapping batches of a shard as one range, and nothing else merged. */
import { describe, expect, it } from 'vitest';
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
