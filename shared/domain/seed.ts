/**
 * The seed file: connections, accounts with their SSO configs, and users with memberships,
 * declared as JSON until the admin API exists. seed/seed.schema.json is generated from this
 * schema (`npm run schema`) and a test keeps the two equal.
 */
import { z } from 'zod';
import { connectionTypeSchema, graphAppSchema, idSchema } from './connection.js';
import { membershipStatusSchema, roleSchema } from './memberships.js';
import { normaliseEmail } from './privacy.js';
import { providerNameSchema, ssoConfigProblems, ssoConfigSchema, withEntraGroupsLowercased, type ConnectionType } from './sso-config.js';
import { issueLines } from '../validation.js';

const id = idSchema;
const providerName = providerNameSchema;
const isoTime = z.iso.datetime({ offset: true });

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase SHA-256 hex digest');

const graphSubscriptionSchema = z.object({
  id: z.string().min(1).max(128).describe('the Graph subscription id'),
  resource: z
    .string()
    .regex(/^(users|groups(\/[0-9a-fA-F-]{36})?)$/, '"users", "groups" or "groups/<group object id>"')
    .describe('what it watches: "users", one configured group as "groups/<object id>", or every group ("groups")'),
  changeType: z.string().default('updated,deleted'),
  expiresAt: isoTime.describe('its expirationDateTime'),
  clientStates: z
    .array(z.string().min(16).max(128))
    .max(2)
    .default([])
    .describe('plain clientState values, hashed before they are stored; fine for local use only'),
  clientStateSha256: z.array(sha256Hex).max(2).default([]).describe('SHA-256 hex digests of the clientState values'),
});


const connectionSchema = z.object({
  id,
  type: connectionTypeSchema,
  tenantId: z.optional(z.uuid()).describe('entra: the directory (tenant) id'),
  orgUrl: z
    .optional(z.url({ protocol: /^https$/ }).transform((url) => url.replace(/\/+$/, '')))
    .describe('okta: the org URL (https://<org>.okta.com); with oktaApiTokenRef, the System Log is polled'),
  oktaApiTokenRef: z
    .optional(z.string().min(1).max(2048))
    .describe('okta: name or ARN of the AWS Secrets Manager secret that holds an Okta API token (never the token itself)'),
  graph: z.optional(graphAppSchema).describe('entra: the Graph app that reads users and groups; needed for Graph calls'),
  deprovisionOnDisable: z.boolean().default(true).describe('entra: a disabled user (accountEnabled false) loses their memberships'),
  deprovisionOnSuspend: z.boolean().default(true).describe('okta: a suspended user (user.lifecycle.suspend) loses their memberships'),
  subscriptions: z
    .array(graphSubscriptionSchema)
    .default([])
    .describe('entra: Graph subscriptions already held (normally created by `npm run subscriptions`)'),
  name: z.string().max(200).optional(),
  providerNames: z.array(providerName).min(1).describe('the Cognito identity provider names of this IdP'),
  hookAuthHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/)
    .default('authorization')
    .describe('the header Okta sends the secret in (its "Authentication field")'),
  hookSecrets: z
    .array(z.string().min(32, 'a hook secret needs at least 32 characters'))
    .max(2)
    .default([])
    .describe('plain secrets, hashed before they are stored; fine for local use only'),
  hookSecretSha256: z
    .array(sha256Hex)
    .max(2)
    .default([])
    .describe('SHA-256 hex digests of the secrets, for files that must not hold them in clear'),
});

const accountSchema = z.object({
  id,
  name: z.string().max(200).optional(),
  ssoConfig: ssoConfigSchema,
});

const userSchema = z.object({
  id: z.optional(id).describe('defaults to an id derived from the email'),
  email: z.email().transform(normaliseEmail),
  identities: z.array(z.object({ connectionId: id, subject: z.string().min(1).max(256).optional() })).min(1),
  memberships: z
    .array(
      z.object({
        accountId: id,
        role: roleSchema,
        status: z._default(membershipStatusSchema, 'active'),
        changedAt: isoTime.optional().describe('IdP time of the last change; defaults to the load time'),
      }),
    )
    .default([]),
});

export const seedSchema = z.object({
  $schema: z.string().optional(),
  connections: z.array(connectionSchema).default([]),
  accounts: z.array(accountSchema).default([]),
  users: z.array(userSchema).default([]),
});

export type Seed = z.output<typeof seedSchema>;

export class SeedError extends Error {
  override name = 'SeedError';
  constructor(readonly problems: string[]) {
    super(`invalid seed file:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Cross-references a schema cannot express; each problem names the path of the bad field. */
function referenceProblems(seed: Seed): string[] {
  const problems: string[] = [];
  const connections = new Map(seed.connections.map((connection) => [connection.id, connection]));
  const accounts = new Set(seed.accounts.map((account) => account.id));
  const duplicates = (values: string[], path: (index: number) => string, what: string) =>
    values.forEach((value, index) => {
      if (values.indexOf(value) !== index) problems.push(`${path(index)}: duplicate ${what} "${value}"`);
    });

  duplicates(seed.connections.map((c) => c.id), (i) => `connections[${i}].id`, 'connection id');
  duplicates(seed.accounts.map((a) => a.id), (i) => `accounts[${i}].id`, 'account id');
  duplicates(seed.users.map((u) => u.email), (i) => `users[${i}].email`, 'email');
  const providerOwners = seed.connections.flatMap((c, i) => c.providerNames.map((name, j) => ({ name, path: `connections[${i}].providerNames[${j}]` })));
  // Provider names are looked up without regard to case: Cognito may lower-case the user name they prefix.
  const seenProviders = new Set<string>();
  for (const { name, path } of providerOwners) {
    if (seenProviders.has(name.toLowerCase())) problems.push(`${path}: duplicate provider name "${name}"`);
    seenProviders.add(name.toLowerCase());
  }

  seed.connections.forEach((connection, i) => {
    const secrets = connection.hookSecrets.length + connection.hookSecretSha256.length;
    if (connection.type === 'okta' && (secrets < 1 || secrets > 2)) {
      problems.push(`connections[${i}].hookSecrets: give one or two hook secrets in all (found ${secrets})`);
    }
    if (connection.type === 'entra' && !connection.tenantId) problems.push(`connections[${i}].tenantId: an Entra connection needs its tenant id`);
    if (connection.type === 'okta') {
      if (connection.graph) problems.push(`connections[${i}].graph: only Entra connections have a Graph app`);
      if (connection.subscriptions.length) problems.push(`connections[${i}].subscriptions: only Entra connections have Graph subscriptions`);
      if (connection.oktaApiTokenRef && !connection.orgUrl) problems.push(`connections[${i}].orgUrl: an Okta API token needs the org URL it is for`);
    } else {
      if (connection.orgUrl) problems.push(`connections[${i}].orgUrl: only Okta connections have an org URL`);
      if (connection.oktaApiTokenRef) problems.push(`connections[${i}].oktaApiTokenRef: only Okta connections have an Okta API token`);
    }
    connection.subscriptions.forEach((subscription, j) => {
      const states = subscription.clientStates.length + subscription.clientStateSha256.length;
      if (states < 1 || states > 2) {
        problems.push(`connections[${i}].subscriptions[${j}].clientStates: give one or two clientState values in all (found ${states})`);
      }
    });
  });
  const connectionTypes = new Map<string, ConnectionType>(seed.connections.map((connection) => [connection.id, connection.type]));
  seed.accounts.forEach((account, i) => problems.push(...ssoConfigProblems(account.ssoConfig, connectionTypes, `accounts[${i}].ssoConfig`)));
  seed.accounts.forEach((account, i) =>
    account.ssoConfig.providers.forEach((provider, j) => {
      const path = `accounts[${i}].ssoConfig.providers[${j}]`;
      const connection = connections.get(provider.connectionId);
      if (!connection) problems.push(`${path}.connectionId: unknown connection "${provider.connectionId}"`);
      else if (!connection.providerNames.includes(provider.providerName)) {
        problems.push(`${path}.providerName: "${provider.providerName}" is not a provider of connection "${connection.id}"`);
      }
    }),
  );
  seed.users.forEach((user, i) => {
    user.identities.forEach((identity, j) => {
      if (!connections.has(identity.connectionId)) {
        problems.push(`users[${i}].identities[${j}].connectionId: unknown connection "${identity.connectionId}"`);
      }
    });
    user.memberships.forEach((membership, j) => {
      if (!accounts.has(membership.accountId)) {
        problems.push(`users[${i}].memberships[${j}].accountId: unknown account "${membership.accountId}"`);
      }
    });
  });
  return problems;
}

/** Parses and checks a whole seed file; throws a SeedError listing every bad field, before anything is written. */
export function parseSeed(input: unknown): Seed {
  const parsed = seedSchema.safeParse(input);
  if (!parsed.success) {
    throw new SeedError(issueLines(parsed.error.issues.map((issue) => ({ ...issue, path: issue.path.length ? issue.path : ['(root)'] }))));
  }
  const problems = referenceProblems(parsed.data);
  if (problems.length > 0) throw new SeedError(problems);
  return withEntraIdsLowercased(parsed.data);
}

/**
 * Entra object ids are GUIDs that Graph and the sign-in claims may spell in either case: one
 * spelling (lowercase) everywhere, so a group in an SSO config matches the one in a notification.
 */
function withEntraIdsLowercased(seed: Seed): Seed {
  const entra = new Set(seed.connections.filter((connection) => connection.type === 'entra').map((connection) => connection.id));
  for (const account of seed.accounts) account.ssoConfig = withEntraGroupsLowercased(account.ssoConfig, (connectionId) => entra.has(connectionId));
  for (const user of seed.users) {
    user.identities = user.identities.map((identity) =>
      entra.has(identity.connectionId) && identity.subject ? { ...identity, subject: identity.subject.toLowerCase() } : identity,
    );
  }
  return seed;
}

/** The JSON Schema of the seed file, as committed in seed/seed.schema.json. */
export function seedJsonSchema(): unknown {
  return z.toJSONSchema(seedSchema, { io: 'input', target: 'draft-2020-12' });
}
