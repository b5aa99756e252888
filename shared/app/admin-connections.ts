/**
 * The admin API's connections: list and read them (never a secret, hash or clientState), create
 * an Okta or Entra connection, rotate and retire an Okta hook secret (the new one is shown once;
 * both work until the old is retired), and deactivate one (its hooks refuse deliveries; its
 * memberships stay: removing them is the IdP's job).
 */
import * as z from 'zod/mini';
import { ID_PATTERN } from '../domain/ids.js';
import { generateHookSecret, hashHookSecret } from '../domain/hook-secrets.js';
import { describeIssues } from '../validation.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.js';
import type { Route } from '../http/routes.js';
import { storeNewSecret } from '../idp/secrets.js';
import { listConnectionIds } from '../store/connections.js';
import { createConnection, getRawConnection, updateConnection, type RawConnection } from '../store/connection-admin.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const connectionId = z.string().check(z.regex(ID_PATTERN, 'use letters, digits, ".", "_" or "-" (at most 64)'));
const guid = z.string().check(z.regex(GUID, 'expected a GUID'));

export const newConnectionSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('okta'),
    connection_id: connectionId,
    name: z.optional(z.string().check(z.maxLength(200))),
    org_url: z.url({ protocol: /^https$/ }),
    /** An Okta API token (okta.logs.read, okta.groups.read, okta.users.read, okta.eventHooks.manage): kept in Secrets Manager. */
    api_token: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
    hook_auth_header: z.optional(z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/))),
  }),
  z.object({
    type: z.literal('entra'),
    connection_id: connectionId,
    name: z.optional(z.string().check(z.maxLength(200))),
    tenant_id: guid,
    client_id: guid,
    client_secret: z.string().check(z.minLength(1), z.maxLength(1024)),
    deprovision_on_disable: z.optional(z.boolean()),
  }),
]);

export type ConnectionSettings = { hooksBaseUrl: string | undefined; secretsPrefix: string };

/** What a person may see of a connection: no secret, no hash, no clientState, no secret reference's value. */
export function connectionView(item: RawConnection) {
  return {
    connectionId: item.connectionId,
    type: item.type,
    name: item.name,
    providerNames: item.providerNames ?? [],
    ...(item.type === 'okta' ? { orgUrl: item.orgUrl, hookAuthHeader: item.hookAuthHeader, hookSecrets: (item.hookSecretHashes ?? []).length, oktaApiToken: item.oktaApiTokenRef ? 'set' : 'not set' } : {}),
    ...(item.type === 'entra'
      ? { tenantId: item.tenantId, graphClientId: (item.graph as { clientId?: string } | undefined)?.clientId, deprovisionOnDisable: item.deprovisionOnDisable ?? true }
      : {}),
    deactivatedAt: item.deactivatedAt,
    updatedAt: item.updatedAt,
  };
}

async function existing(connectionIdValue: string): Promise<RawConnection> {
  const item = await getRawConnection(connectionIdValue);
  if (!item) throw new NotFoundError(`no connection ${connectionIdValue}`);
  return item;
}

function hookUrl(settings: ConnectionSettings, id: string): string | undefined {
  return settings.hooksBaseUrl ? `${settings.hooksBaseUrl}/hooks/okta/${id}` : undefined;
}

export async function createNewConnection(body: unknown, admin: AdminPrincipal, settings: ConnectionSettings) {
  const parsed = newConnectionSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError('Invalid connection.', { detail: describeIssues(parsed.error, 3) });
  const request = parsed.data;
  const id = request.connection_id;
  if (await getRawConnection(id)) throw new ConflictError(`connection ${id} exists already`);
  if (request.type === 'okta') {
    const secret = generateHookSecret();
    const oktaApiTokenRef = request.api_token ? await storeNewSecret(`${settings.secretsPrefix}${id}/okta-api-token`, request.api_token, `Okta API token of connection ${id}`) : undefined;
    const header = (request.hook_auth_header ?? 'authorization').toLowerCase();
    await createConnection({ connectionId: id, type: 'okta', name: request.name, orgUrl: request.org_url.replace(/\/+$/, ''), providerNames: [], hookAuthHeader: header, hookSecretHashes: [hashHookSecret(secret)], ...(oktaApiTokenRef ? { oktaApiTokenRef } : {}) }, admin);
    // The secret is shown here once and never again: only its hash is stored.
    return { connection_id: id, type: 'okta', hook_url: hookUrl(settings, id), hook_auth_header: header, hook_secret: secret };
  }
  const clientSecretRef = await storeNewSecret(`${settings.secretsPrefix}${id}/graph-client-secret`, request.client_secret, `Graph app client secret of connection ${id}`);
  await createConnection(
    { connectionId: id, type: 'entra', name: request.name, tenantId: request.tenant_id.toLowerCase(), graph: { clientId: request.client_id.toLowerCase(), clientSecretRef }, deprovisionOnDisable: request.deprovision_on_disable ?? true, providerNames: [], hookAuthHeader: 'authorization', hookSecretHashes: [] },
    admin,
  );
  return { connection_id: id, type: 'entra', graph_notification_url: settings.hooksBaseUrl ? `${settings.hooksBaseUrl}/hooks/graph/${id}` : undefined };
}

/** A second hook secret beside the current one; both work until the old one is retired. */
export async function rotateHookSecret(id: string, admin: AdminPrincipal) {
  const seen = await existing(id);
  if (seen.type !== 'okta') throw new ConflictError('only Okta connections have hook secrets');
  const hashes = seen.hookSecretHashes ?? [];
  if (hashes.length >= 2) throw new ConflictError('two secrets are active already: retire the old one first');
  const secret = generateHookSecret();
  await updateConnection(seen, { hookSecretHashes: [...hashes, hashHookSecret(secret)] }, 'secret_rotated', admin);
  return { connection_id: id, hook_secret: secret, active_secrets: hashes.length + 1 };
}

/** Keeps only the newest hook secret: the one given last by rotate-secret. */
export async function retireHookSecret(id: string, admin: AdminPrincipal) {
  const seen = await existing(id);
  const hashes = seen.hookSecretHashes ?? [];
  if (hashes.length < 2) throw new ConflictError('there is no old secret to retire');
  await updateConnection(seen, { hookSecretHashes: hashes.slice(-1) }, 'secret_retired', admin);
  return { connection_id: id, active_secrets: 1 };
}

/** Deactivates: no hook secret is accepted any more. Memberships stay. */
export async function deactivateConnection(id: string, admin: AdminPrincipal) {
  const seen = await existing(id);
  if (seen.deactivatedAt) throw new ConflictError('the connection is deactivated already');
  const at = new Date().toISOString();
  await updateConnection(seen, { hookSecretHashes: [], deactivatedAt: at }, 'deactivated', admin);
  return { connection_id: id, deactivatedAt: at };
}

export function connectionRoutes(settings: ConnectionSettings): Route<AdminPrincipal>[] {
  return [
    { method: 'GET', path: '/admin/connections', handle: async () => ({ status: 200, body: { connections: (await Promise.all((await listConnectionIds()).map(getRawConnection))).flatMap((item) => (item ? [connectionView(item)] : [])) } }) },
    { method: 'POST', path: '/admin/connections', handle: async ({ body, principal }) => ({ status: 201, body: await createNewConnection(body, principal, settings) }) },
    { method: 'GET', path: '/admin/connections/{connectionId}', handle: async ({ params }) => ({ status: 200, body: connectionView(await existing(params.connectionId ?? '')) }) },
    { method: 'DELETE', path: '/admin/connections/{connectionId}', handle: async ({ params, principal }) => ({ status: 200, body: await deactivateConnection(params.connectionId ?? '', principal) }) },
    { method: 'POST', path: '/admin/connections/{connectionId}/rotate-secret', handle: async ({ params, principal }) => ({ status: 200, body: await rotateHookSecret(params.connectionId ?? '', principal) }) },
    { method: 'POST', path: '/admin/connections/{connectionId}/retire-secret', handle: async ({ params, principal }) => ({ status: 200, body: await retireHookSecret(params.connectionId ?? '', principal) }) },
  ];
}
