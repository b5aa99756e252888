/**
 * How many runs a property test over the whole stack makes: few in `npm test` (each run posts
 * and processes real deliveries), more on demand, e.g. `FUZZ_RUNS=200 npx vitest run test/integration/duplicates-disorder.test.ts`.
 */
export function fuzzRuns(inNpmTest: number): number {
  const asked = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(asked) && asked > 0 ? asked : inNpmTest;
}
