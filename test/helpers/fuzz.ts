/**
 * How many runs a property test over the whole stack makes: few in `npm test` (each run posts
 * and processes real deliveries), more on demand, e.g. `FUZZ_RUNS=200 npx vitest run test/integration/duplicates-disorder.test.ts`.
 * `npm run fuzz` (scripts/fuzz.ts) sets FUZZ_FULL=1: the fuzz suites then make their full-run
 * counts (`inFullRun`), sized so every route gets at least FUZZ_CASES_PER_ROUTE cases.
 */
import { appendFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { leaksIn, capturedLogLines, dropCapturedLogLines } from './log-scan.js';
import { expect } from 'vitest';

export const FULL_FUZZ = process.env.FUZZ_FULL === '1';
/** The count (issue 12, item 3): cases per route in the full run. */
export const FUZZ_CASES_PER_ROUTE = 10_000;

export function fuzzRuns(inNpmTest: number, inFullRun?: number): number {
  // FUZZ_SCALE (0 < scale ≤ 1) shrinks a full run, to time it or try it: `npm run fuzz -- --scale 0.05`.
  if (FULL_FUZZ && inFullRun !== undefined) return Math.ceil(inFullRun * fuzzScale());
  const asked = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(asked) && asked > 0 ? asked : inNpmTest;
}

function fuzzScale(): number {
  const scale = Number(process.env.FUZZ_SCALE);
  return scale > 0 && scale <= 1 ? scale : 1;
}

const tally = new Map<string, number>();
let tallyFile: string | undefined;
let sinceLogScan = 0;
/** Lines kept between scans (test/helpers/log-scan.ts): a full run makes millions; they are scanned and let go every so often. */
const LOG_SCAN_EVERY = 1_000;

/**
 * Counts one case of a route (an input handed to the route's handler). Every LOG_SCAN_EVERY cases,
 * the log lines captured so far are searched for secrets (as after the file) and let go, so a long
 * run's memory stays flat; the fuzz files register every secret they use before their first case.
 */
export function countCase(route: string): void {
  tally.set(route, (tally.get(route) ?? 0) + 1);
  sinceLogScan += 1;
  if (sinceLogScan >= LOG_SCAN_EVERY) {
    sinceLogScan = 0;
    expect(leaksIn(capturedLogLines()), 'log lines of this fuzz run hold secrets or tokens').toEqual([]);
    dropCapturedLogLines();
    // The counts so far, so a run stopped midway still says how far it got.
    writeTally(false);
  }
}

function writeTally(final: boolean): void {
  const path = process.env.FUZZ_TALLY_FILE;
  if (path && tallyFile) appendFileSync(path, `${JSON.stringify({ file: tallyFile, final, routes: Object.fromEntries(tally) })}\n`);
}

/**
 * The file's cases per route, appended as JSON lines to FUZZ_TALLY_FILE (set by npm run fuzz): every
 * LOG_SCAN_EVERY cases (`final: false`) and after the file (`final: true`); the last line of a file counts.
 */
export function reportFuzzTally(file: string): void {
  tallyFile = file;
  afterAll(() => writeTally(true));
}
