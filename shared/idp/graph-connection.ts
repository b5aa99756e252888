/**
 * The Graph client of a connection: its app's client id, its secret from Secrets Manager, the
 * configured Graph and login endpoints. One client per (tenant, app, secret) per container, so
 * the access token is reused; a rotated secret yields a new client.
 */
import { createHash } from 'node:crypto';
import { config } from '../config.js';
import type { Connection } from '../store/connections.js';
import { graphDirectory, type GraphDirectory } from './graph.js';
import { secretValue } from './secrets.js';

export class GraphNotConfiguredError extends Error {
  override name = 'GraphNotConfiguredError';
}

const MAX_CLIENTS = 100;
const clients = new Map<string, GraphDirectory>();

/** Call limits for a caller with a deadline of its own (a sign-in trigger has 5 s in all). */
export type DirectoryLimits = { maxRetries: number; callTimeoutMs: number };

export async function directoryFor(connection: Connection, limits?: DirectoryLimits): Promise<GraphDirectory> {
  const { graph, tenantId, connectionId } = connection;
  if (connection.type !== 'entra' || !graph || !tenantId) {
    throw new GraphNotConfiguredError(`connection ${connectionId} has no Graph app: set its tenantId, graph.clientId and graph.clientSecretRef`);
  }
  const clientSecret = await secretValue(graph.clientSecretRef);
  const key = [tenantId, graph.clientId, createHash('sha256').update(clientSecret).digest('hex'), limits?.maxRetries, limits?.callTimeoutMs].join('|');
  let client = clients.get(key);
  if (!client) {
    const { graphBaseUrl, graphAuthorityHost } = config();
    client = graphDirectory({ tenantId, clientId: graph.clientId, clientSecret }, { baseUrl: graphBaseUrl, authorityHost: graphAuthorityHost }, limits);
    if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value as string);
    clients.set(key, client);
  }
  return client;
}
