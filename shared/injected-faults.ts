/**
 * Fault injection for the chaos run (`npm run chaos`) and tests: with CHAOS_FAILURE_RATE set, a
 * share of the DynamoDB, Cognito and Secrets Manager calls fail as the services fail under strain,
 * throttled (400) or with an internal error (500). Never set in serverless.yml (a test checks).
 *
 * The middleware sits in the `deserialize` step, inside the SDK's retry middleware (`finalizeRequest`,
 * priority high): each attempt is failed independently, and the SDK's own retry strategy sees the
 * same names, status codes and `$retryable` traits as from AWS (see @smithy/core's
 * service-error-classification), so it retries them with back-off and its retry quota.
 */
import type { MiddlewareStack } from '@smithy/types';
import { config } from './config.js';

export type InjectedFaultKind = 'throttling' | 'internalError';

/** An error shaped like the SDK's ServiceException for a throttled or failed call. */
export class InjectedServiceFault extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; attempts?: number };
  readonly $retryable?: { throttling: boolean };
  readonly $injected = true;

  constructor(readonly kind: InjectedFaultKind, clientName: string, commandName: string) {
    const throttled = kind === 'throttling';
    super(`Injected ${throttled ? 'throttling' : 'internal error'} on ${clientName} ${commandName} (CHAOS_FAILURE_RATE)`);
    // DynamoDB says ProvisionedThroughputExceededException for a hot partition; Cognito and
    // Secrets Manager say ThrottlingException / TooManyRequestsException.
    this.name = throttled ? (clientName === 'DynamoDBClient' ? 'ProvisionedThroughputExceededException' : 'ThrottlingException') : 'InternalServerError';
    this.$fault = throttled ? 'client' : 'server';
    this.$metadata = { httpStatusCode: throttled ? 400 : 500 };
    if (throttled) this.$retryable = { throttling: true };
  }
}

/** The one thing this module needs of an AWS SDK v3 client. */
type ClientWithStack = { middlewareStack: MiddlewareStack<any, any> };

/** Counted in this process; each fault also writes one line to stderr, which the chaos run counts. */
export const injectedFaults: Record<InjectedFaultKind, number> = { throttling: 0, internalError: 0 };

let paused = false;

/** While paused, no fault is injected: `npm start` seeds its table and fakes before the chaos starts. */
export function pauseInjectedFaults(pause: boolean): void {
  paused = pause;
}

/** Adds the fault middleware when `rate` > 0; returns the client unchanged otherwise. */
export function withInjectedFaults<Client extends ClientWithStack>(client: Client, rate = config().chaosFailureRate, random: () => number = Math.random): Client {
  if (rate <= 0) return client;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (paused || random() >= rate) return next(args);
      const kind: InjectedFaultKind = random() < 0.5 ? 'throttling' : 'internalError';
      injectedFaults[kind]++;
      const fault = new InjectedServiceFault(kind, context.clientName ?? 'client', context.commandName ?? 'command');
      process.stderr.write(`[chaos] injected ${fault.name} ${context.clientName} ${context.commandName}\n`);
      throw fault;
    },
    { step: 'deserialize', name: 'injectedFaultsMiddleware', priority: 'high' },
  );
  return client;
}
