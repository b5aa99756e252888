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
