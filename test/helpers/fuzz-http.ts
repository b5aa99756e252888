/** Shared checks of the fuzz tests: a handler call that must resolve, and the table's new items. */
import { afterAll, beforeAll, expect } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** The handler's answer; a rejection (a thrown error instead of an answer) fails the case with it. */
export async function answerOf(call: () => Promise<unknown>): Promise<APIGatewayProxyStructuredResultV2> {
  let answer: unknown;
  try {
    answer = await call();
  } catch (error) {
    throw new Error(`the handler rejected instead of answering: ${String(error)}`, { cause: error });
  }
  expect(answer, 'the handler answers with a structured result').toMatchObject({ statusCode: expect.any(Number) });
  return answer as APIGatewayProxyStructuredResultV2;
}

/** Items in `after` that were not in `before` (both from tableSnapshot), parsed; and whether any item changed or went. */
export function tableChanges(before: readonly string[], after: readonly string[]): { added: Record<string, unknown>[]; removedOrChanged: number } {
  const had = new Set(before);
  const has = new Set(after);
  return {
    added: after.filter((item) => !had.has(item)).map((item) => JSON.parse(item) as Record<string, unknown>),
    removedOrChanged: before.filter((item) => !has.has(item)).length,
  };
}

/** Unhandled rejections during the file (vitest reports them too; this names the file's property). */
export function failOnUnhandledRejections(): void {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', listener);
  });
  afterAll(() => {
    process.off('unhandledRejection', listener);
    expect(seen.map(String)).toEqual([]);
  });
}

/**
 * A test's timeout for `runs` cases: vitest's 20 s default would stop a FUZZ_RUNS run midway
 * while its property keeps writing, under the next test's table snapshot.
 */
export function fuzzTimeout(runs: number, msPerRun = 300): number {
  return Math.max(20_000, runs * msPerRun);
}
