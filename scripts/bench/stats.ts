/** Timing and summary helpers for the bench. No I/O, no imports of shared/. */

export const round2 = (value: number): number => Math.round(value * 100) / 100;

/** Nearest-rank percentile of an ascending array (p in 0..1). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}

export type LatencySummary = { samples: number; p50Ms: number; p99Ms: number; meanMs: number; maxMs: number };

export function summarize(durations: readonly number[]): LatencySummary {
  const sorted = [...durations].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    samples: sorted.length,
    p50Ms: round2(percentile(sorted, 0.5)),
    p99Ms: round2(percentile(sorted, 0.99)),
    meanMs: round2(sum / Math.max(1, sorted.length)),
    maxMs: round2(sorted.at(-1) ?? Number.NaN),
  };
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** Runs `once` sequentially: `warmup` discarded runs, then `samples` kept. `once` returns its own duration. */
export async function sequentialSamples(warmup: number, samples: number, once: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const durations: number[] = [];
  for (let i = 0; i < samples; i++) durations.push(await once());
  return durations;
}

/**
 * Alternates two measurements, so both see the same server state (JIT, GC, table size):
 * the targets compare their ratio, which a drift between two separate runs would skew.
 */
export async function interleavedSamples(
  warmup: number,
  samples: number,
  first: () => Promise<number>,
  second: () => Promise<number>,
): Promise<[number[], number[]]> {
  const firsts: number[] = [];
  const seconds: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const a = await first();
    const b = await second();
    if (i < warmup) continue;
    firsts.push(a);
    seconds.push(b);
  }
  return [firsts, seconds];
}

/** Runs `work` over every item with at most `concurrency` in flight; returns the wall-clock ms. */
export async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
  return performance.now() - started;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
