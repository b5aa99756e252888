/**
 * The admin API's accounts and SSO configs. Every answer about an account carries its ETag (one
 * per account item: the account and its config share it); every write to an account that exists
 * needs `If-Match` with that ETag (428 without, 412 when it is stale), and the write itself is
 * conditional on that version (shared/store/account-writer.ts). A config's providers must be
 * identity providers of the user pool and linked to a connection (their ProviderLink item).
 */
import * as z from 'zod/mini';
import {
  accountIdSchema,
  allowedDomainSchema,
  groupGrantSchema,
  providerNameSchema,
  ssoConfigProblems,
  withEntraGroupsLowercased,
  type ConnectionType,
  type SsoConfig,
} from '../domain/sso-config.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { NotFoundError, PreconditionFailedError, PreconditionRequiredError, ValidationError } from '../http/errors.js';
import type { Route, RouteAnswer } from '../http/routes.js';
import { describeProvider } from '../idp/cognito-providers.js';
import { logger } from '../logger.js';
import {
  AccountChangedError,
  accountWriteActions,
  etagOf,
  MAX_TRANSACT_ITEMS,
  nextUpdatedAt,
  readAccount,
  writeAccount,
  type AccountItem,
  type AccountWrite,
} from '../store/account-writer.js';
import { connectionOfProvider } from '../store/sso-configs.js';
import { issueLines } from '../validation.js';

export type AccountSettings = { userPoolId: string };

export const accountRequestSchema = z.strictObject({ name: z.optional(z.string().check(z.maxLength(200))) });

/** A provider in a request: its connection is the one its ProviderLink names (given, it must be that one). */
const providerRequestSchema = z.strictObject({
  providerName: providerNameSchema,
  connectionId: z.optional(accountIdSchema),
  groups: z.array(groupGrantSchema),
});

/** The SSO config as the admin API takes it: the stored config's fields, plus the account's Cognito app client. */
export const ssoConfigRequestSchema = z.strictObject({
  active: z.boolean(),
  cognitoClientId: z.optional(z.string().check(z.regex(/^[\w+]{1,128}$/, 'a Cognito app client id'))),
  restoreOnSignIn: z._default(z.boolean(), true),
  allowedDomains: z.pipe(
    z.array(allowedDomainSchema).check(z.minLength(1)),
    z.transform((domains: string[]) => [...new Set(domains)]),
  ),
  providers: z.array(providerRequestSchema).check(z.minLength(1)),
});

type SsoConfigRequest = z.output<typeof ssoConfigRequestSchema>;

function parseBody<T>(schema: z.ZodMiniType<T>, body: unknown, message: string): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new ValidationError(message, { detail: issueLines(parsed.error.issues.slice(0, 3)).join('; ') });
  return parsed.data;
}

function accountIdOf(params: Record<string, string>): string {
  const accountId = params.accountId ?? '';
  if (!accountIdSchema.safeParse(accountId).success) throw new ValidationError('Invalid account id.', { detail: 'accountId: use letters, digits, ".", "_" or "-" (at most 64)' });
  return accountId;
}

/**
 * The If-Match rules: writing over something that exists needs its ETag (428 without it), a stale
 * ETag is a lost update (412), and an ETag for something that does not exist cannot match (412).
 */
function checkIfMatch(ifMatch: string | undefined, item: AccountItem | undefined, existing: boolean): void {
  if (ifMatch === undefined) {
    if (existing) throw new PreconditionRequiredError('If-Match is required.', { detail: 'If-Match: send the ETag of your last GET of this account' });
    return;
  }
  if (!item) throw new PreconditionFailedError('The account does not exist.', { detail: 'If-Match: there is no account to match' });
  const etag = etagOf(item);
  const matches = ifMatch.split(',').map((tag) => tag.trim()).some((tag) => tag === '*' || tag === etag); // strong comparison (RFC 9110 13.1.1): a weak tag never matches
  if (!matches) throw new PreconditionFailedError('The account changed since you read it.', { detail: 'If-Match: the account is no longer this version; GET it again' });
}

function hasLiveConfig(item: AccountItem | undefined): item is AccountItem & { ssoConfig: SsoConfig } {
  return item?.ssoConfig !== undefined && item.ssoConfigDeletedAt === undefined;
}

const accountView = (item: AccountItem) => ({
  accountId: item.accountId,
  ...(typeof item.name === 'string' ? { name: item.name } : {}),
  ssoConfig: hasLiveConfig(item) ? 'present' : 'none',
  updatedAt: item.updatedAt,
});

const ssoConfigView = (item: AccountItem & { ssoConfig: SsoConfig }) => ({
  accountId: item.accountId,
  active: item.ssoConfig.active,
  ...(typeof item.cognitoClientId === 'string' ? { cognitoClientId: item.cognitoClientId } : {}),
  restoreOnSignIn: item.ssoConfig.restoreOnSignIn ?? true,
  allowedDomains: item.ssoConfig.allowedDomains,
  providers: item.ssoConfig.providers,
  updatedAt: item.updatedAt,
});

const withEtag = (status: number, body: unknown, item: AccountItem): RouteAnswer => ({ status, body, headers: { ETag: etagOf(item) } });

async function write(request: AccountWrite): Promise<void> {
  if (accountWriteActions(request).length > MAX_TRANSACT_ITEMS) {
    throw new ValidationError('Invalid SSO config.', { detail: `providers: too many group changes for one write (at most ${MAX_TRANSACT_ITEMS - 2} groups added and removed in all)` });
  }
  try {
    await writeAccount(request);
  } catch (error) {
    if (error instanceof AccountChangedError) throw new PreconditionFailedError('The account changed since you read it.', { detail: 'If-Match: the account changed meanwhile; GET it again' });
    throw error;
  }
  logger.info('account changed by an admin', { accountId: request.after.accountId, action: request.audit.action, admin: request.audit.admin.sub });
}

export async function getAccount(accountId: string): Promise<RouteAnswer> {
  const item = await readAccount(accountId);
  if (!item) throw new NotFoundError(`no account ${accountId}`);
  return withEtag(200, accountView(item), item);
}

/** Creates the account (201) or replaces its own fields (200); its SSO config is left as it is. */
export async function putAccount(accountId: string, body: unknown, ifMatch: string | undefined, admin: AdminPrincipal): Promise<RouteAnswer> {
  const request = parseBody(accountRequestSchema, body, 'Invalid account.');
  const seen = await readAccount(accountId);
  checkIfMatch(ifMatch, seen, seen !== undefined);
  const { name: _name, ...kept }: Record<string, unknown> = seen ?? {};
  const after: AccountItem = { ...kept, accountId, ...(request.name === undefined ? {} : { name: request.name }), updatedAt: nextUpdatedAt(seen) };
  await write({
    seen,
    after,
    configBefore: seen?.ssoConfig,
    configAfter: seen?.ssoConfig,
    audit: { action: seen ? 'account.updated' : 'account.created', admin, before: seen ? { name: seen.name } : undefined, after: { name: request.name } },
  });
  return withEtag(seen ? 200 : 201, accountView(after), after);
}

export async function getSsoConfig(accountId: string): Promise<RouteAnswer> {
  const item = await readAccount(accountId);
  if (!item) throw new NotFoundError(`no account ${accountId}`);
  if (!hasLiveConfig(item)) throw new NotFoundError(`account ${accountId} has no SSO config`);
  return withEtag(200, ssoConfigView(item), item);
}

/**
 * The stored config a request stands for: each provider as Cognito spells it, its connection from
 * its ProviderLink, and Entra groups checked as GUIDs and lowercased. Every problem names its field.
 */
async function resolveConfig(request: SsoConfigRequest, settings: AccountSettings): Promise<SsoConfig> {
  const problems: string[] = [];
  const connectionTypes = new Map<string, ConnectionType>();
  const providers = await Promise.all(
    request.providers.map(async (provider, i) => {
      const [inPool, connection] = await Promise.all([describeProvider(settings.userPoolId, provider.providerName), connectionOfProvider(provider.providerName)]);
      const path = `providers[${i}]`;
      if (!inPool) problems.push(`${path}.providerName: there is no identity provider "${provider.providerName}" in user pool ${settings.userPoolId}`);
      else if (!connection) problems.push(`${path}.providerName: "${provider.providerName}" belongs to no connection (POST /admin/sso-providers or the seed file links it)`);
      else if (provider.connectionId !== undefined && provider.connectionId !== connection.connectionId) {
        problems.push(`${path}.connectionId: "${provider.providerName}" belongs to connection "${connection.connectionId}"`);
      }
      if (connection) connectionTypes.set(connection.connectionId, connection.type);
      return { connectionId: connection?.connectionId ?? '', providerName: inPool?.providerName ?? provider.providerName, groups: provider.groups };
    }),
  );
  const config: SsoConfig = { active: request.active, restoreOnSignIn: request.restoreOnSignIn, allowedDomains: request.allowedDomains, providers };
  if (problems.length === 0) problems.push(...ssoConfigProblems(config, connectionTypes, 'ssoConfig').map((problem) => problem.replace(/^ssoConfig\./, '')));
  if (problems.length > 0) throw new ValidationError('Invalid SSO config.', { detail: problems.slice(0, 3).join('; ') });
  return withEntraGroupsLowercased(config, (connectionId) => connectionTypes.get(connectionId) === 'entra');
}

async function writeConfig(accountId: string, seen: AccountItem | undefined, request: SsoConfigRequest, admin: AdminPrincipal, settings: AccountSettings, action: string): Promise<RouteAnswer> {
  const config = await resolveConfig(request, settings);
  const { ssoConfigDeletedAt: _deletedAt, ssoConfigDeletedBy: _deletedBy, cognitoClientId: clientBefore, cognitoClientSecretRef, ...kept }: Record<string, unknown> = seen ?? {};
  const after: AccountItem = {
    ...kept,
    accountId,
    ssoConfig: config,
    ...(request.cognitoClientId === undefined ? {} : { cognitoClientId: request.cognitoClientId }),
    // The client's secret stays with its client (POST /admin/sso-providers stored it).
    ...(cognitoClientSecretRef !== undefined && request.cognitoClientId === clientBefore ? { cognitoClientSecretRef } : {}),
    updatedAt: nextUpdatedAt(seen),
  };
  const before = hasLiveConfig(seen) ? { ...seen.ssoConfig, cognitoClientId: clientBefore } : undefined;
  await write({ seen, after, configBefore: seen?.ssoConfig, configAfter: config, audit: { action, admin, before, after: { ...config, cognitoClientId: request.cognitoClientId } } });
  return withEtag(action === 'sso_config.created' ? 201 : 200, ssoConfigView(after as AccountItem & { ssoConfig: SsoConfig }), after);
}

/** Creates (201; If-Match optional) or replaces (200; If-Match required) the account's SSO config; creates the account when missing. */
export async function putSsoConfig(accountId: string, body: unknown, ifMatch: string | undefined, admin: AdminPrincipal, settings: AccountSettings): Promise<RouteAnswer> {
  const request = parseBody(ssoConfigRequestSchema, body, 'Invalid SSO config.');
  const seen = await readAccount(accountId);
  checkIfMatch(ifMatch, seen, hasLiveConfig(seen));
  return writeConfig(accountId, seen, request, admin, settings, hasLiveConfig(seen) ? 'sso_config.replaced' : 'sso_config.created');
}

// Not z.partial of the request: its restoreOnSignIn default would overwrite a stored false.
const patchSchema = z.partial(z.extend(ssoConfigRequestSchema, { restoreOnSignIn: z.boolean() }));

/** Changes the fields given (a JSON merge patch of the top level: `providers` and `allowedDomains` are replaced whole). */
export async function patchSsoConfig(accountId: string, body: unknown, ifMatch: string | undefined, admin: AdminPrincipal, settings: AccountSettings): Promise<RouteAnswer> {
  // Checked before anything is read: a bad field is a 400 whatever the account's state.
  const patch = parseBody(patchSchema, body, 'Invalid SSO config.');
  const seen = await readAccount(accountId);
  if (!hasLiveConfig(seen)) throw new NotFoundError(`account ${accountId} has no SSO config`);
  checkIfMatch(ifMatch, seen, true);
  const current = ssoConfigView(seen);
  const merged = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) };
  const { accountId: _id, updatedAt: _at, ...fields } = merged;
  return writeConfig(accountId, seen, parseBody(ssoConfigRequestSchema, fields, 'Invalid SSO config.'), admin, settings, 'sso_config.updated');
}

/**
 * Deletes the account's SSO config: sign-in through it stops at once (sso_inactive, once warm
 * functions' caches expire). The config is kept, inactive, with its group grants and account
 * links, so memberships stay and the IdPs' removals still reach them; a PUT brings a config back.
 */
export async function deleteSsoConfig(accountId: string, ifMatch: string | undefined, admin: AdminPrincipal): Promise<RouteAnswer> {
  const seen = await readAccount(accountId);
  if (!hasLiveConfig(seen)) throw new NotFoundError(`account ${accountId} has no SSO config`);
  checkIfMatch(ifMatch, seen, true);
  const inactive: SsoConfig = { ...seen.ssoConfig, active: false };
  const deletedAt = nextUpdatedAt(seen);
  const after: AccountItem = { ...seen, ssoConfig: inactive, ssoConfigDeletedAt: deletedAt, ssoConfigDeletedBy: admin, updatedAt: deletedAt };
  await write({ seen, after, configBefore: seen.ssoConfig, configAfter: inactive, audit: { action: 'sso_config.deleted', admin, before: seen.ssoConfig } });
  return { status: 204, headers: { ETag: etagOf(after) } };
}

const ifMatchOf = (header: (name: string) => string | undefined) => header('if-match');

export function accountRoutes(settings: AccountSettings): Route<AdminPrincipal>[] {
  return [
    { method: 'GET', path: '/admin/accounts/{accountId}', handle: async ({ params }) => getAccount(accountIdOf(params)) },
    { method: 'PUT', path: '/admin/accounts/{accountId}', handle: async ({ params, body, header, principal }) => putAccount(accountIdOf(params), body, ifMatchOf(header), principal) },
    { method: 'GET', path: '/admin/accounts/{accountId}/sso-config', handle: async ({ params }) => getSsoConfig(accountIdOf(params)) },
    {
      method: 'PUT',
      path: '/admin/accounts/{accountId}/sso-config',
      handle: async ({ params, body, header, principal }) => putSsoConfig(accountIdOf(params), body, ifMatchOf(header), principal, settings),
    },
    {
      method: 'PATCH',
      path: '/admin/accounts/{accountId}/sso-config',
      handle: async ({ params, body, header, principal }) => patchSsoConfig(accountIdOf(params), body, ifMatchOf(header), principal, settings),
    },
    { method: 'DELETE', path: '/admin/accounts/{accountId}/sso-config', handle: async ({ params, header, principal }) => deleteSsoConfig(accountIdOf(params), ifMatchOf(header), principal) },
  ];
}
