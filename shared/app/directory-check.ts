/**
 * The live directory check at sign-in (rule 8): which of an account's Entra groups the user is
 * in now, transitively, asked of Graph (`checkMemberGroups`). A trigger has 5 seconds in all,
 * so the call gets one short try; a failure is no evidence, never a reason to admit.
 */
import type { Connection } from '../store/connections.js';
import { logger } from '../logger.js';

const SIGN_IN_GRAPH_LIMITS = { maxRetries: 0, callTimeoutMs: 2_000 };

export async function memberGroupsInDirectory(connection: Connection, objectId: string, groupIds: readonly string[]): Promise<Set<string> | undefined> {
  if (connection.type !== 'entra' || !connection.graph || !connection.tenantId) return undefined;
  try {
    // Loaded on first use: most sign-ins never need the Graph client.
    const { directoryFor } = await import('../idp/graph-connection.js');
    const graph = await directoryFor(connection, SIGN_IN_GRAPH_LIMITS);
    return await graph.memberGroupsOf(objectId, groupIds);
  } catch (error) {
    logger.warn('directory check at sign-in failed; no evidence taken from it', { connectionId: connection.connectionId, error: error as Error });
    return undefined;
  }
}
