/**
 * Fault injection into the real SDK client (the only "mock" these tests use): the named
 * DynamoDB command fails the next `times` calls, before it leaves the process.
 */
import { dynamoClient } from '../../shared/store/client.js';

const failures = new Map<string, number>();
let installed = false;

export function failNext(commandNames: string[], times = 1): void {
  if (!installed) {
    dynamoClient.middlewareStack.add(
      (next, context) => async (args) => {
        const left = failures.get(context.commandName ?? '') ?? 0;
        if (left > 0) {
          failures.set(context.commandName ?? '', left - 1);
          throw Object.assign(new Error(`injected ${context.commandName} failure`), { name: 'InternalServerError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'testFaultInjection' },
    );
    installed = true;
  }
  for (const name of commandNames) failures.set(name, times);
}

export function clearFaults(): void {
  failures.clear();
}

/** The `:pk` value of a Query, before or after the document client marshals it. */
function queriedPartitionKey(input: unknown): string | undefined {
  const value = (input as { ExpressionAttributeValues?: Record<string, unknown> }).ExpressionAttributeValues?.[':pk'];
  return typeof value === 'string' ? value : (value as { S?: string } | undefined)?.S;
}

/**
 * Makes a Query on a partition key over 2,048 bytes fail as it does on DynamoDB ("Size of hashkey
 * has exceeded the maximum size limit of 2048 bytes"); DynamoDB Local enforces that on writes only.
 * Returns the function that removes it.
 */
export function enforceKeyLimitOnQueries(): () => void {
  const name = 'testKeyLimitOnQueries';
  dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      const pk = context.commandName === 'QueryCommand' ? queriedPartitionKey(args.input) : undefined;
      if (pk !== undefined && Buffer.byteLength(pk, 'utf8') > 2048) {
        throw Object.assign(new Error('One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes'), {
          name: 'ValidationException',
        });
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return () => dynamoClient.middlewareStack.remove(name);
}
