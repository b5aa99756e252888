/**
 * Fault injection into the real SDK client (the only "mock" these tests use): the named
 * DynamoDB command fails the next `times` calls, before it leaves the process; or fails, or
 * waits, whenever its input matches (to fail one event, or to force an interleaving).
 */
import { dynamoClient } from '../../shared/store/client.js';

type CommandRule = {
  commandNames: string[];
  matches: (input: unknown) => boolean;
  effect: { fail: true; times?: number; skip?: number } | { waitFor: Promise<unknown>; onHold: () => void };
};

const failures = new Map<string, number>();
const rules: CommandRule[] = [];
let installed = false;

function injectedFailure(commandName: string | undefined): Error {
  return Object.assign(new Error(`injected ${commandName} failure`), { name: 'InternalServerError' });
}

function install(): void {
  if (installed) return;
  dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      const commandName = context.commandName ?? '';
      const left = failures.get(commandName) ?? 0;
      if (left > 0) {
        failures.set(commandName, left - 1);
        throw injectedFailure(commandName);
      }
      for (const rule of rules.filter((candidate) => candidate.commandNames.includes(commandName) && candidate.matches(args.input))) {
        if ('fail' in rule.effect) {
          if (rule.effect.skip) {
            rule.effect.skip -= 1;
            continue;
          }
          if (rule.effect.times === 0) continue;
          if (rule.effect.times !== undefined) rule.effect.times -= 1;
          throw injectedFailure(commandName);
        }
        rule.effect.onHold();
        await rule.effect.waitFor;
      }
      return next(args);
    },
    { step: 'initialize', name: 'testFaultInjection' },
  );
  installed = true;
}

export function failNext(commandNames: string[], times = 1): void {
  install();
  for (const name of commandNames) failures.set(name, times);
}

/** Every call of these commands whose input mentions `text` (an event or user id) fails, until clearFaults. */
export function failWhenMentioning(commandNames: string[], text: string): void {
  install();
  rules.push({ commandNames, matches: (input) => JSON.stringify(input).includes(text), effect: { fail: true } });
}

/** After `skip` calls of these commands whose input mentions `text` went through, the next `times` fail; later ones go through. */
export function failTimesWhenMentioning(commandNames: string[], text: string, times: number, skip = 0): void {
  install();
  rules.push({ commandNames, matches: (input) => JSON.stringify(input).includes(text), effect: { fail: true, times, skip } });
}

/**
 * Calls of these commands whose input mentions `text` wait until `release` settles before they
 * are sent. Resolves when the first such call is being held.
 */
export function holdWhenMentioning(commandNames: string[], text: string, release: Promise<unknown>): Promise<void> {
  install();
  return new Promise((held) => {
    rules.push({
      commandNames,
      matches: (input) => JSON.stringify(input).includes(text),
      effect: { waitFor: release.then(() => undefined, () => undefined), onHold: held },
    });
  });
}

export function clearFaults(): void {
  failures.clear();
  rules.length = 0;
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
