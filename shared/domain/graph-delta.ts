/**
 * What a Graph delta round says, turned into the inbox records a change notification would have
 * given (graph-notifications.ts), so the same processor asks Graph for the truth. Pure.
 *
 * - a user `@removed` or with accountEnabled false: a `users updated` hint (processing GETs the user);
 * - a group `@removed`: `groups deleted`;
 * - members `@removed` from or added to a group: `groups updated` with removedMembers (and
 *   addedMembers, candidates for a re-add); a nested group added or removed, or a list over its
 *   bounds: `groups updated` without a list, which checks every linked member.
 */
import { GRAPH_BOUNDS, type GraphChangeRecord } from './graph-notifications.js';

/** The subscriptionId of records the poller makes: no Graph subscription is behind them. */
export const DELTA_POLL_SUBSCRIPTION = 'delta-poll';

export type UserDelta = { id: string; removed: boolean; accountEnabled: boolean | undefined };
export type GroupDelta = { id: string; removedReason: string | undefined; removedMembers: readonly string[]; addedMembers: readonly string[]; nestedChanged: boolean };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const sortedUnique = (ids: readonly string[]) => [...new Set(ids.map((id) => id.toLowerCase()))].sort();

const change = (resourceType: 'users' | 'groups', resourceId: string, changeType: string, extra: Partial<GraphChangeRecord> = {}): GraphChangeRecord => ({
  kind: 'change',
  subscriptionId: DELTA_POLL_SUBSCRIPTION,
  changeType,
  resourceType,
  resourceId: resourceId.toLowerCase(),
  ...extra,
});

export function userDeltaRecords(changes: readonly UserDelta[]): GraphChangeRecord[] {
  const ids = sortedUnique(changes.filter((user) => GUID.test(user.id) && (user.removed || user.accountEnabled === false)).map((user) => user.id));
  return ids.map((id) => change('users', id, 'updated'));
}

export function groupDeltaRecords(changes: readonly GroupDelta[]): GraphChangeRecord[] {
  const records: GraphChangeRecord[] = [];
  for (const group of changes) {
    if (!GUID.test(group.id)) continue;
    if (group.removedReason !== undefined) {
      records.push(change('groups', group.id, 'deleted'));
      continue;
    }
    const removed = sortedUnique(group.removedMembers);
    const added = sortedUnique(group.addedMembers);
    if (removed.length === 0 && added.length === 0 && !group.nestedChanged) continue;
    const listable =
      !group.nestedChanged &&
      [...removed, ...added].every((id) => GUID.test(id)) &&
      removed.length <= GRAPH_BOUNDS.removedMembers &&
      added.length <= GRAPH_BOUNDS.addedMembers;
    records.push(
      listable ? change('groups', group.id, 'updated', { removedMembers: removed, ...(added.length > 0 ? { addedMembers: added } : {}) }) : change('groups', group.id, 'updated'),
    );
  }
  return records;
}
