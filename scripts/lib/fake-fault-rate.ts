/**
 * The fakes' rate-based faults for the chaos run: with a failure rate set (FAKE_IDP_FAILURE_RATE in
 * `npm start`, or `failureRate` in a test), that share of the IdP API calls is answered 429 (with
 * the IdP's rate-limit headers, 1 s) or 503, counted by status. GET /_fake/faults reads the counts.
 */
export type RandomFaults = { failureRate: number; readonly injected: Record<'429' | '503', number> };

export function randomFaults(rate: number): RandomFaults {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`a failure rate must be between 0 and 1 (got ${rate})`);
  return { failureRate: rate, injected: { '429': 0, '503': 0 } };
}

/** The status to fail this call with, or undefined to answer it. */
export function drawFault(faults: RandomFaults, random: () => number = Math.random): 429 | 503 | undefined {
  if (faults.failureRate <= 0 || random() >= faults.failureRate) return undefined;
  const status = random() < 0.5 ? 429 : 503;
  faults.injected[status]++;
  return status;
}
