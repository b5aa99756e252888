/**
 * The admin API's connections: list and read them (never a secret, hash or clientState), create
 * an Okta or Entra connection, rotate and retire an Okta hook secret (the new one is shown once;
 * both work until the old is retired), and deactivate one (its hooks refuse deliveries; its
 * memberships stay: removing them is the IdP's job).
 *
 * An Okta connection created with `"register": true` also gets its event hook in the Okta org
 * (create → verify → activate, through the API token); deactivating removes that hook again.
 * An Entra connection gets its Graph subscriptions at once (connection-subscriptions.ts);
 * deactivating deletes them.
 */
import * as z from 'zod/mini';
import { ID_PATTERN } from '../domain/ids.js';
import { generateHookSecret, hashHookSecret } from '../domain/hook-secrets.js';
import { describeIssues } from '../validation.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.js';
import type { Route } from '../http/routes.js';
import { config } from '../config.js';
import { OktaEventHookError, registerEventHook, removeEventHook, type RegisteredEventHook } from '../idp/okta-event-hooks.js';
import { secretValue, storeNewSecret } from '../idp/secrets.js';
import { listConnectionIds } from '../store/connections.js';
import { subscribeNewConnection, unsubscribeConnection } from './connection-subscriptions.js';
import { subscriptionUrls } from './graph-subscriptions.js';
import { createConnection, getRawConnection, getRawConnections, updateConnection, type RawConnection } from '../store/connection-admin.js';

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
    /** Register the event hook in Okta now (needs api_token and the stage's hooks base URL). */
    register: z.optional(z.boolean()),
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

export type ConnectionSettings = {
  hooksBaseUrl: string | undefined;
  secretsPrefix: string;
  /** The event types a registered Okta hook subscribes to; OKTA_EVENT_TYPES by default. */
  oktaEventTypes?: Iterable<string>;
};

/** Okta requires hook names to be unique in an org. */
const eventHookName = (id: string) => `sso-sync ${id}`;

/** What a person may see of a connection: no secret, no hash, no clientState, no secret reference's value. */
export function connectionView(item: RawConnection) {
  return {
    connectionId: item.connectionId,
    type: item.type,
    name: item.name,
    providerNames: item.providerNames ?? [],
    ...(item.type === 'okta'
      ? { orgUrl: item.orgUrl, hookAuthHeader: item.hookAuthHeader, hookSecrets: (item.hookSecretHashes ?? []).length, oktaApiToken: item.oktaApiTokenRef ? 'set' : 'not set', oktaEventHookId: item.oktaEventHookId }
      : {}),
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

type OktaRequest = Extract<z.infer<typeof newConnectionSchema>, { type: 'okta' }>;
type EntraRequest = Extract<z.infer<typeof newConnectionSchema>, { type: 'entra' }>;

/** What POST /admin/connections answers: 201, or 502 when the connection was stored but Okta refused its hook (or Graph its subscriptions). */
export type NewConnectionAnswer = { status: 201 | 502; body: Record<string, unknown> };

export async function createNewConnection(body: unknown, admin: AdminPrincipal, settings: ConnectionSettings): Promise<NewConnectionAnswer> {
  const parsed = newConnectionSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError('Invalid connection.', { detail: describeIssues(parsed.error, 3) });
  const request = parsed.data;
  const id = request.connection_id;
  if (request.type === 'okta' && request.register) {
    if (!request.api_token) throw new ValidationError('Invalid connection.', { detail: 'api_token: registering the event hook needs an Okta API token (okta.eventHooks.manage)' });
    if (!settings.hooksBaseUrl) throw new ValidationError('Invalid connection.', { detail: 'register: this stage has no hooks base URL (HOOKS_BASE_URL), so the hook URL is unknown' });
  }
  if (await getRawConnection(id)) throw new ConflictError(`connection ${id} exists already`);
  if (request.type === 'okta') return createOktaConnection(request, admin, settings);
  return createEntraConnection(request, admin, settings);
}

async function createEntraConnection(request: EntraRequest, admin: AdminPrincipal, settings: ConnectionSettings): Promise<NewConnectionAnswer> {
  const id = request.connection_id;
  const clientSecretRef = await storeNewSecret(`${settings.secretsPrefix}${id}/graph-client-secret`, request.client_secret, `Graph app client secret of connection ${id}`);
  await createConnection(
    { connectionId: id, type: 'entra', name: request.name, tenantId: request.tenant_id.toLowerCase(), graph: { clientId: request.client_id.toLowerCase(), clientSecretRef }, deprovisionOnDisable: request.deprovision_on_disable ?? true, providerNames: [], hookAuthHeader: 'authorization', hookSecretHashes: [] },
    admin,
  );
  const created = { connection_id: id, type: 'entra', graph_notification_url: settings.hooksBaseUrl ? subscriptionUrls(settings.hooksBaseUrl, id).notificationUrl : undefined };
  if (!settings.hooksBaseUrl) {
    return { status: 201, body: { ...created, subscriptions: [], message: `No Graph subscriptions were made: this stage has no hooks base URL (HOOKS_BASE_URL). ${SUBSCRIBE_LATER(id)}` } };
  }
  // The connection is stored first: Graph validates the notification URL while creating a
  // subscription, and the subscriptions are items of the connection's partition. On a failure
  // the connection (and its secret) stays, without subscriptions.
  const subscribed = await subscribeNewConnection(id, settings.hooksBaseUrl);
  if (subscribed.ok) return { status: 201, body: { ...created, subscriptions: subscribed.subscriptions } };
  const { graph_step, resource, error, left_in_graph } = subscribed;
  return {
    status: 502,
    body: {
      status: 'failed',
      message: `The connection was created, but its Graph subscriptions were not. Once the cause is fixed (the app's client secret, its Microsoft Graph permissions, Graph itself): ${SUBSCRIBE_LATER(id)}`,
      error,
      graph_step,
      ...(resource ? { resource } : {}),
      ...(left_in_graph.length > 0 ? { left_in_graph } : {}),
      ...created,
    },
  };
}

const SUBSCRIBE_LATER = (id: string) => `The renew-subscriptions schedule (every 6 hours) creates them, or \`npm run subscriptions -- ${id}\` at once.`;

async function createOktaConnection(request: OktaRequest, admin: AdminPrincipal, settings: ConnectionSettings): Promise<NewConnectionAnswer> {
  const id = request.connection_id;
  const secret = generateHookSecret();
  const oktaApiTokenRef = request.api_token ? await storeNewSecret(`${settings.secretsPrefix}${id}/okta-api-token`, request.api_token, `Okta API token of connection ${id}`) : undefined;
  const header = (request.hook_auth_header ?? 'authorization').toLowerCase();
  const orgUrl = request.org_url.replace(/\/+$/, '');
  await createConnection({ connectionId: id, type: 'okta', name: request.name, orgUrl, providerNames: [], hookAuthHeader: header, hookSecretHashes: [hashHookSecret(secret)], ...(oktaApiTokenRef ? { oktaApiTokenRef } : {}) }, admin);
  // The secret is shown here once and never again: only its hash is stored.
  const created = { connection_id: id, type: 'okta', hook_url: hookUrl(settings, id), hook_auth_header: header, hook_secret: secret };
  if (!request.register || !request.api_token) return { status: 201, body: created };

  // The connection is stored first: Okta's verification GET reaches okta-hook, which must find it.
  // On a failure the connection stays, without a registered hook: its secret is valid and is shown
  // in the 502 answer (the only time), so the hook can still be set up in Okta by hand (README,
  // "Connecting Okta").
  const notRegistered = (error: string, step: string): NewConnectionAnswer => ({
    status: 502,
    body: { status: 'failed', message: 'The connection was created, but its Okta event hook was not registered.', error, okta_step: step, ...created },
  });
  let hook: RegisteredEventHook;
  try {
    hook = await registerEventHook({
      orgUrl,
      apiToken: request.api_token,
      name: eventHookName(id),
      hookUrl: hookUrl(settings, id) ?? '',
      authHeader: request.hook_auth_header ?? 'Authorization',
      secret,
      eventTypes: [...(settings.oktaEventTypes ?? config().oktaEventTypes)],
    });
  } catch (error) {
    if (error instanceof OktaEventHookError) return notRegistered(error.message, error.step);
    throw error;
  }
  try {
    await updateConnection(await existing(id), { oktaEventHookId: hook.id }, 'event_hook_registered', admin);
  } catch (error) {
    // Okta must hold no hook we do not know of: remove it again.
    const removal = await removeEventHook({ orgUrl, apiToken: request.api_token, hookId: hook.id }).then(
      () => 'it was removed from Okta again',
      (removeError: Error) => `it could not be removed from Okta (${removeError.message})`,
    );
    return notRegistered(`the hook ${hook.id} was registered, but storing its id failed (${(error as Error).message}); ${removal}`, 'record');
  }
  return { status: 201, body: { ...created, okta_event_hook: { id: hook.id, status: hook.status, verificationStatus: hook.verificationStatus } } };
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

/**
 * Deactivates: no hook secret is accepted any more. Memberships stay. A registered Okta event hook
 * is deactivated and deleted in Okta first; if that fails, the answer says so and the connection
 * is deactivated all the same (it keeps the hook's id, so the hook can be found and deleted in Okta).
 * An Entra connection's Graph subscriptions are deleted in Graph and in the table; one Graph would
 * not delete is named in the answer (it expires by itself, its notifications refused meanwhile).
 */
export async function deactivateConnection(id: string, admin: AdminPrincipal) {
  const seen = await existing(id);
  if (seen.deactivatedAt) throw new ConflictError('the connection is deactivated already');
  const hookId = typeof seen.oktaEventHookId === 'string' ? seen.oktaEventHookId : undefined;
  const hookRemoval = hookId ? await removeRegisteredHook(seen, hookId) : undefined;
  const at = new Date().toISOString();
  await updateConnection(seen, { hookSecretHashes: [], deactivatedAt: at }, 'deactivated', admin, hookRemoval?.removed ? ['oktaEventHookId'] : []);
  // After the deactivation, which renew-subscriptions then honours: it cannot recreate what is deleted here.
  const graphSubscriptions = seen.type === 'entra' ? await unsubscribeConnection(id) : undefined;
  return {
    connection_id: id,
    deactivatedAt: at,
    ...(hookRemoval ? { okta_event_hook: hookRemoval.removed ? { id: hookId, removed: true } : { id: hookId, removed: false, error: hookRemoval.error } } : {}),
    ...(graphSubscriptions ? { graph_subscriptions: graphSubscriptions } : {}),
  };
}

async function removeRegisteredHook(seen: RawConnection, hookId: string): Promise<{ removed: true } | { removed: false; error: string }> {
  const tokenRef = typeof seen.oktaApiTokenRef === 'string' ? seen.oktaApiTokenRef : undefined;
  if (!tokenRef || typeof seen.orgUrl !== 'string') return { removed: false, error: 'the connection has no Okta API token: delete the hook in Okta' };
  let apiToken: string;
  try {
    apiToken = await secretValue(tokenRef);
  } catch (error) {
    // Only the error's kind: Secrets Manager's messages name the secret, never its value, but say nothing useful either.
    return { removed: false, error: `the Okta API token could not be read (${(error as Error).name})` };
  }
  try {
    await removeEventHook({ orgUrl: seen.orgUrl, apiToken, hookId });
    return { removed: true };
  } catch (error) {
    if (error instanceof OktaEventHookError) return { removed: false, error: error.message };
    throw error;
  }
}

export function connectionRoutes(settings: ConnectionSettings): Route<AdminPrincipal>[] {
  return [
    // One BatchGetItem per 100 connections, not a GetItem each all at once (hundreds queued behind the SDK's sockets).
    { method: 'GET', path: '/admin/connections', handle: async () => ({ status: 200, body: { connections: (await getRawConnections(await listConnectionIds())).map(connectionView) } }) },
    { method: 'POST', path: '/admin/connections', handle: async ({ body, principal }) => createNewConnection(body, principal, settings) },
    { method: 'GET', path: '/admin/connections/{connectionId}', handle: async ({ params }) => ({ status: 200, body: connectionView(await existing(params.connectionId ?? '')) }) },
    { method: 'DELETE', path: '/admin/connections/{connectionId}', handle: async ({ params, principal }) => ({ status: 200, body: await deactivateConnection(params.connectionId ?? '', principal) }) },
    { method: 'POST', path: '/admin/connections/{connectionId}/rotate-secret', handle: async ({ params, principal }) => ({ status: 200, body: await rotateHookSecret(params.connectionId ?? '', principal) }) },
    { method: 'POST', path: '/admin/connections/{connectionId}/retire-secret', handle: async ({ params, principal }) => ({ status: 200, body: await retireHookSecret(params.connectionId ?? '', principal) }) },
  ];
}
