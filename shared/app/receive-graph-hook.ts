/**
 * The Graph webhook receiver: the validation handshake and change/lifecycle deliveries. Order as
 * for Okta: connection → per-item checks → store → answer. Nothing is stored unless it passed,
 * and receiving never calls Graph (Graph wants an answer within 3 seconds).
 */
import {
  checkDelivery,
  graphDeliverySchema,
  MAX_VALIDATION_TOKEN_LENGTH,
  type CheckedDelivery,
  type NotificationKind,
  type Rejection,
} from '../domain/graph-notifications.js';
import { ID_PATTERN } from '../store/keys.js';
import type { ConnectionWithSubscriptions } from '../store/connections.js';
import { storeGraphRecords } from '../store/graph-inbox.js';
import { NotFoundError, UnauthorizedError, ValidationError } from '../http/errors.js';
import { describeIssues } from '../validation.js';

export type GraphConnectionLookup = {
  /** Cached for CONFIG_CACHE_SECONDS: the hot path. */
  cached: (connectionId: string) => Promise<ConnectionWithSubscriptions | undefined>;
  /** Re-read at most every few seconds: a subscription created a moment ago is not in the cache yet. */
  fresh: (connectionId: string) => Promise<ConnectionWithSubscriptions | undefined>;
};

type EntraConnection = ConnectionWithSubscriptions & { tenantId: string };

function asEntra(found: ConnectionWithSubscriptions | undefined): EntraConnection | undefined {
  const tenantId = found?.connection.type === 'entra' ? found.connection.tenantId : undefined;
  return found && tenantId ? { ...found, tenantId } : undefined;
}

/** 404 unless the id names an Entra connection. */
export async function findEntraConnection(connectionId: string | undefined, lookup: GraphConnectionLookup): Promise<EntraConnection> {
  const found = connectionId && ID_PATTERN.test(connectionId) ? asEntra(await lookup.cached(connectionId)) : undefined;
  if (!found) throw new NotFoundError('unknown Entra connection');
  return found;
}

/** Graph's handshake: answer the decoded token as plain text, unless it cannot be one. */
export function validationAnswer(token: string): string {
  if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN_LENGTH) {
    throw new ValidationError(`validationToken must have 1 to ${MAX_VALIDATION_TOKEN_LENGTH} characters`);
  }
  return token;
}

export type GraphReceipt = {
  received: number;
  stored: number;
  duplicates: number;
  rejected: Partial<Record<Rejection['reason'], number>>;
};

function check(items: readonly unknown[], kind: NotificationKind, connection: EntraConnection): CheckedDelivery {
  return checkDelivery(items, kind, {
    tenantId: connection.tenantId,
    subscriptions: connection.subscriptions.map(({ subscriptionId, resource, clientStateHashes }) => ({ subscriptionId, resource, clientStateHashes })),
  });
}

function countReasons(rejected: Rejection[]): GraphReceipt['rejected'] {
  const counts: GraphReceipt['rejected'] = {};
  for (const { reason } of rejected) counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}

/**
 * Checks every notification and stores those that pass. Nothing passed: 401 (400 when nothing
 * was even well-formed). A storage failure throws, so the answer is 5xx and Graph resends;
 * what was stored already then counts as duplicates.
 */
export async function receiveGraphDelivery(input: {
  connection: EntraConnection;
  kind: NotificationKind;
  payload: unknown;
  lookup: GraphConnectionLookup;
  receivedAt: Date;
  retentionDays: number;
}): Promise<GraphReceipt> {
  const envelope = graphDeliverySchema.safeParse(input.payload);
  if (!envelope.success) throw new ValidationError(`not a Graph notification delivery: ${describeIssues(envelope.error)}`);
  const items = envelope.data.value;

  let checked = check(items, input.kind, input.connection);
  if (checked.rejected.some(({ reason }) => reason === 'unknown subscription')) {
    const fresh = asEntra(await input.lookup.fresh(input.connection.connection.connectionId));
    if (fresh) checked = check(items, input.kind, fresh);
  }
  if (checked.records.length === 0) {
    if (checked.rejected.every(({ reason }) => reason === 'malformed')) {
      throw new ValidationError('no notification in this delivery has the fields Graph sends');
    }
    throw new UnauthorizedError('no notification in this delivery could be verified');
  }

  const { stored, duplicates } = await storeGraphRecords({
    connectionId: input.connection.connection.connectionId,
    records: checked.records,
    receivedAt: input.receivedAt,
    retentionDays: input.retentionDays,
  });
  return { received: items.length, stored, duplicates, rejected: countReasons(checked.rejected) };
}
