/**
 * Counts DynamoDB commands sent through the shared client, per phase. The phase travels with
 * the async context (AsyncLocalStorage), so concurrent acks and stream batches are told apart.
 * Import only after the environment is set (it loads shared/store/client).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { dynamoClient } from '../../shared/store/client.js';

export type Phase = 'ack' | 'process' | 'other';
type CallCounts = ReadonlyMap<string, number>;

const phase = new AsyncLocalStorage<Phase>();
const counts = new Map<string, number>();
/** Summed wall time of the commands, to see which one dominates (they overlap under concurrency). */
const durations = new Map<string, number>();
let installed = false;

export function installCallCounter(): void {
  if (installed) return;
  dynamoClient.middlewareStack.add(
    // `initialize` runs once per command, whatever the SDK retries underneath.
    (next, context) => async (args) => {
      const key = `${phase.getStore() ?? 'other'}:${context.commandName ?? 'unknown'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        durations.set(key, (durations.get(key) ?? 0) + performance.now() - started);
      }
    },
    { step: 'initialize', name: 'benchCallCounter' },
  );
  installed = true;
}

export function inPhase<T>(name: Phase, work: () => Promise<T>): Promise<T> {
  return phase.run(name, work);
}

export type CallSnapshot = { counts: CallCounts; durations: CallCounts };

export function snapshot(): CallSnapshot {
  return { counts: new Map(counts), durations: new Map(durations) };
}

export type PhaseCalls = {
  total: number;
  byCommand: Record<string, number>;
  /** Mean latency of each command, as the caller saw it (SDK included). */
  meanMsByCommand: Record<string, number>;
};

/** Commands of one phase sent since `before`, in total and by command name. */
export function callsSince(before: CallSnapshot, name: Phase): PhaseCalls {
  const calls: PhaseCalls = { total: 0, byCommand: {}, meanMsByCommand: {} };
  for (const [key, count] of counts) {
    const [keyPhase, command = 'unknown'] = key.split(':');
    const delta = count - (before.counts.get(key) ?? 0);
    if (keyPhase !== name || delta === 0) continue;
    const ms = (durations.get(key) ?? 0) - (before.durations.get(key) ?? 0);
    calls.byCommand[command] = delta;
    calls.meanMsByCommand[command] = Math.round((ms / delta) * 100) / 100;
    calls.total += delta;
  }
  return calls;
}
