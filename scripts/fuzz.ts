/**
 * npm run fuzz [-- --scale 0.05] [fuzz-admin …]
 *
 * Issue 12, item 3: the fuzz suites at the full count, 10,000 cases per route. Runs vitest as a
 * child on the fuzz test files with FUZZ_FULL=1 (test/helpers/fuzz.ts: each property then makes
 * its full-run count instead of npm test's few), and prints one JSON summary at the end: cases per
 * route, failures, duration. Exits 1 on any failed test, on a route under its count, or when a
 * file reported no cases.
 *
 * How cases are counted: a case of a route is one input handed to that route's handler, counted
 * by the test as it makes the call (countCase), under the route the handler actually received:
 * - Okta hook GET and POST, Graph change and lifecycle notifications (fuzz-webhooks.test.ts): a
 *   route's properties sum to 10,000 or more (POST: 6,000 authenticated, 4,000 unauthenticated,
 *   100 storage faults; GET: 4,000 unauthenticated, 6,000 verifications; each Graph route: 5,000
 *   deliveries, 3,000 forged, 2,000 validation handshakes);
 * - every admin route (fuzz-admin.test.ts, the list read from the route table): one property of
 *   10,000 requests each;
 * - every Cognito trigger (fuzz-cognito-trigger.test.ts): PreSignUp, PostConfirmation,
 *   PostAuthentication and PreTokenGeneration (any TokenGeneration_* source, versions 1–3), one
 *   case per call of the trigger handler; one model case calls three of them;
 * - the two stream processors (fuzz-stream-processors.test.ts): one case is one batch of 1 to 4
 *   stream records; 2,000 per processor, not 10,000 (they are not among the routes, and a
 *   batch costs about 100 ms of real processing here).
 *
 * Names of fuzz files (without `.test.ts`) run only those. `--scale` (0 < scale ≤ 1) runs that share of every count, and expects that share of 10,000 per
 * route: for timing and trying the run. vitest's own output streams as it goes; the summary is the
 * last thing printed (the JSON object from its opening brace on a line of its own to the end).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASES_PER_ROUTE = 10_000;
const ALL_FILES = ['fuzz-webhooks', 'fuzz-admin', 'fuzz-cognito-trigger', 'fuzz-stream-processors'];
/** Counted, but not routes of the service: sources no trigger of the pool sends (the handler must still answer them). */
const NOT_A_ROUTE = new Set(['cognito other trigger source']);
/** Routes held to another count than CASES_PER_ROUTE (see above). */
const COUNT_OF: Record<string, number> = { 'stream process-okta-events': 2_000, 'stream process-graph-events': 2_000 };

const { options, positional } = parseArgs(process.argv.slice(2));
const unknown = positional.filter((file) => !ALL_FILES.includes(file));
if (unknown.length > 0) throw new Error(`not a fuzz file: ${unknown.join(', ')} (one of ${ALL_FILES.join(', ')})`);
const FILES = positional.length > 0 ? positional : ALL_FILES;
const scale = options.has('scale') ? Number(options.get('scale')) : 1;
if (!(scale > 0 && scale <= 1)) throw new Error('--scale must be a number in (0, 1]');
const target = Math.ceil(CASES_PER_ROUTE * scale);
const targetOf = (route: string) => Math.ceil((COUNT_OF[route] ?? CASES_PER_ROUTE) * scale);

const work = mkdtempSync(join(tmpdir(), 'sso-sync-fuzz-'));
const tallyFile = join(work, 'tally.jsonl');
const reportFile = join(work, 'vitest.json');
const started = Date.now();

let interrupted = false;
const exitCode = await new Promise<number>((resolve) => {
  const child = spawn(
    join(ROOT, 'node_modules/.bin/vitest'),
    ['run', ...FILES.map((file) => `test/integration/${file}.test.ts`), '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, FUZZ_FULL: '1', FUZZ_SCALE: String(scale), FUZZ_TALLY_FILE: tallyFile } },
  );
  child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  // Stopped (Ctrl-C, a time limit): vitest is stopped too, and the summary still says how far each file got.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted = true;
      child.kill('SIGTERM');
    });
  }
});
const durationSeconds = Math.round((Date.now() - started) / 1000);

type Tally = { file: string; final: boolean; routes: Record<string, number> };
// Each file's last line: its final counts, or how far it got when the run stopped.
const lastOfFile = new Map<string, Tally>();
if (existsSync(tallyFile)) for (const line of readFileSync(tallyFile, 'utf8').split('\n').filter(Boolean)) {
  const tally = JSON.parse(line) as Tally;
  lastOfFile.set(tally.file, tally);
}
const tallies = [...lastOfFile.values()];
const unfinishedFiles = tallies.filter((tally) => !tally.final).map((tally) => tally.file);
const casesPerRoute: Record<string, number> = {};
for (const { routes } of tallies) for (const [route, cases] of Object.entries(routes)) casesPerRoute[route] = (casesPerRoute[route] ?? 0) + cases;

type AssertionResult = { fullName: string; status: string; failureMessages?: string[] };
type Report = { numTotalTests: number; numFailedTests: number; testResults: { name: string; message?: string; assertionResults: AssertionResult[] }[] };
const report: Report | undefined = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as Report) : undefined;
// The first lines of each failure (the counterexample and the broken expectation), without colours.
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
const failures = (report?.testResults ?? []).flatMap((file) => [
  ...(file.message ? [{ test: file.name.replace(ROOT, ''), message: plain(file.message).slice(0, 1500) }] : []),
  ...file.assertionResults.filter((test) => test.status === 'failed').map((test) => ({ test: test.fullName, message: plain(test.failureMessages?.[0] ?? '').split('\n').slice(0, 12).join('\n').slice(0, 1500) })),
]);
const routesUnderTarget = Object.entries(casesPerRoute)
  .filter(([route, cases]) => !NOT_A_ROUTE.has(route) && cases < targetOf(route))
  .map(([route, cases]) => ({ route, cases, expected: targetOf(route) }));
const filesWithoutCases = FILES.filter((file) => !tallies.some((tally) => tally.file === file));

const passed = !interrupted && exitCode === 0 && failures.length === 0 && routesUnderTarget.length === 0 && filesWithoutCases.length === 0 && unfinishedFiles.length === 0;
const summary = {
  passed,
  interrupted,
  unfinishedFiles,
  scale,
  casesPerRouteTarget: target,
  otherTargets: Object.fromEntries(Object.keys(COUNT_OF).map((route) => [route, targetOf(route)])),
  routes: Object.keys(casesPerRoute).filter((route) => !NOT_A_ROUTE.has(route)).length,
  totalCases: Object.values(casesPerRoute).reduce((sum, cases) => sum + cases, 0),
  casesPerRoute: Object.fromEntries(Object.entries(casesPerRoute).sort(([a], [b]) => a.localeCompare(b))),
  routesUnderTarget,
  filesWithoutCases,
  tests: report?.numTotalTests,
  failures: failures.length,
  failed: failures,
  durationSeconds,
  vitestExitCode: exitCode,
};
rmSync(work, { recursive: true, force: true });
process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\n`);
process.exit(passed ? 0 : 1);
