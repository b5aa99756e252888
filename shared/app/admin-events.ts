/**
 * The admin API's events: the ones a person should look at (failed, invalid, stale, skipped), by
 * status and connection with cursor pagination; one event's outcome, attempts and revocation; and
 * a replay through the normal processor.
 */
import * as z from 'zod/mini';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.js';
import { eventsByStatus, getEventItem, markForReplay } from '../store/admin-directory.js';

const LISTED_STATUSES = ['failed', 'invalid', 'stale', 'skipped'] as const;
const listQuerySchema = z.object({
  status: z._default(z.enum(LISTED_STATUSES), 'failed'),
  connectionId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/))),
  type: z.optional(z.string().check(z.maxLength(128))),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 25),
});

/** An inbox item as a person reads it: no keys, no retention attribute. */
export function eventView(item: Record<string, unknown>) {
  const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, entity: _entity, expiresAt: _expiresAt, ...event } = item;
  return event;
}

function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ValidationError('cursor: not a cursor this API returned');
}

export async function listEvents(query: Record<string, string | undefined>) {
  const parsed = listQuerySchema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${issue?.path.join('.') ?? 'query'}: ${issue?.message ?? 'invalid'}; status is one of ${LISTED_STATUSES.join(', ')} (applied events are in the accounts' audit trails)`);
  }
  const { status, connectionId, type, cursor, limit } = parsed.data;
  const page = await eventsByStatus({ status, connectionId, cursor: decodeCursor(cursor), limit });
  const events = page.items.map(eventView).filter((event) => !type || event.eventType === type);
  return { events, ...(page.next ? { cursor: Buffer.from(JSON.stringify(page.next)).toString('base64url') } : {}) };
}

export async function getEvent(connectionId: string, eventId: string) {
  const item = await getEventItem(connectionId, eventId);
  if (!item) throw new NotFoundError(`no event ${eventId} of connection ${connectionId}`);
  return eventView(item);
}

/** Hands the event to its processor again; processing is idempotent, so what it did once is not done twice. */
export async function replayEvent(connectionId: string, eventId: string) {
  await getEvent(connectionId, eventId);
  if (!(await markForReplay(connectionId, eventId))) throw new ConflictError('the event is pending already');
  return { connectionId, eventId, status: 'pending' };
}
