/**
 * The Okta event hook receiver, in the order octokit/webhooks uses: connection → credentials
 * → parse → validate → store → answer. Nothing is stored unless every check passed, and the
 * only I/O on the way is the (cached) connection read and one conditional put per event.
 */
import { matchesAnyHookSecret } from '../domain/hook-secrets.js';
import { oktaDeliverySchema, toOktaEventRecord } from '../domain/okta-events.js';
import { ID_PATTERN } from '../store/keys.js';
import type { Connection } from '../store/connections.js';
import { storeOktaEvents } from '../store/inbox.js';
import { NotFoundError, UnauthorizedError, ValidationError } from '../http/errors.js';
import { describeIssues } from '../validation.js';

export type ConnectionLookup = (connectionId: string) => Promise<Connection | undefined>;
export type HeaderLookup = (name: string) => string | undefined;

/** 404 for an unknown or non-Okta connection, 401 unless the configured header holds an active secret. */
export async function authenticateOktaRequest(
  connectionId: string | undefined,
  header: HeaderLookup,
  lookupConnection: ConnectionLookup,
): Promise<Connection> {
  const connection = connectionId && ID_PATTERN.test(connectionId) ? await lookupConnection(connectionId) : undefined;
  if (!connection || connection.type !== 'okta') throw new NotFoundError('unknown Okta connection');
  if (!matchesAnyHookSecret(header(connection.hookAuthHeader), connection.hookSecretHashes)) {
    throw new UnauthorizedError();
  }
  return connection;
}

/** Okta's one-time verification: echo the challenge header as {"verification": ...}. */
export function answerVerification(header: HeaderLookup): { verification: string } {
  const challenge = header('x-okta-verification-challenge');
  if (!challenge) throw new ValidationError('missing x-okta-verification-challenge header');
  return { verification: challenge };
}

export type DeliveryReceipt = {
  deliveryId: string | undefined;
  received: number;
  stored: number;
  duplicates: number;
  ignored: number;
  /** Stored, but over a bound (OKTA_BOUNDS): processing records them `invalid` with the reason. */
  invalid: number;
};

/**
 * Validates a delivery and stores every event of a type we act on, each with its time capped at
 * arrival; an event over a bound is stored too, marked invalid, so it costs nobody else's events
 * and a person can see it. A storage failure throws, so the handler answers 5xx and Okta retries
 * the whole delivery; events already stored then count as duplicates and are not stored twice.
 */
export async function receiveOktaDelivery(input: {
  connection: Connection;
  payload: unknown;
  actedOnTypes: ReadonlySet<string>;
  receivedAt: Date;
  retentionDays: number;
}): Promise<DeliveryReceipt> {
  const parsed = oktaDeliverySchema.safeParse(input.payload);
  if (!parsed.success) {
    throw new ValidationError(`not an Okta event hook delivery: ${describeIssues(parsed.error)}`);
  }
  const delivery = parsed.data;
  const relevant = delivery.data.events.filter((event) => input.actedOnTypes.has(event.eventType));
  const records = relevant.map((event) => toOktaEventRecord(event, input.receivedAt));
  const { stored, duplicates } = await storeOktaEvents({
    connectionId: input.connection.connectionId,
    records,
    deliveryId: delivery.eventId,
    receivedAt: input.receivedAt,
    retentionDays: input.retentionDays,
  });
  return {
    deliveryId: delivery.eventId,
    received: delivery.data.events.length,
    stored,
    duplicates,
    ignored: delivery.data.events.length - relevant.length,
    invalid: records.filter((record) => record.invalidReason).length,
  };
}
