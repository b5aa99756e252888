// zod/mini: the classic build adds ~400 KB to every bundle; mini adds ~20 KB.
import * as z from 'zod/mini';
import { describeIssues } from './validation.js';

/** A missing or malformed environment variable, named, thrown once at start-up. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_OKTA_EVENT_TYPES = [
  'group.user_membership.remove',
  // Re-adds give back what the IdP removed (a person removed by mistake is not locked out).
  'group.user_membership.add',
  'user.lifecycle.delete.initiated',
  'user.lifecycle.deactivate',
  // Acted on only where the connection's deprovisionOnSuspend is on (the default).
  'user.lifecycle.suspend',
  // The person active again (a deactivated user activated, a suspension lifted): recorded so an
  // older deactivation or suspension delivered later is stale. They give no access back by themselves.
  'user.lifecycle.activate',
  'user.lifecycle.reactivate',
  'user.lifecycle.unsuspend',
] as const;

const commaList = z.pipe(
  z.string(),
  z.transform((raw) => raw.split(',').map((part) => part.trim()).filter(Boolean)),
).check(z.minLength(1, 'give at least one value'));

const integer = (minimum: number) => z.coerce.number().check(z.int(), z.gte(minimum));

const environmentSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(3)),
  // Only for DynamoDB Local; unset on AWS.
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  // Only for moto_server in tests; unset on AWS.
  COGNITO_ENDPOINT: z.optional(z.url()),
  OKTA_EVENT_TYPES: z._default(commaList, [...DEFAULT_OKTA_EVENT_TYPES]),
  CONFIG_CACHE_SECONDS: z._default(integer(0), 60),
  MAX_WEBHOOK_BODY_BYTES: z._default(integer(1), 1024 * 1024),
  INBOX_RETENTION_DAYS: z._default(integer(1), 90),
  // Okta System Log polling: where a connection's first run starts, and the pages one run may read.
  OKTA_POLL_LOOKBACK_MINUTES: z._default(integer(1), 60),
  OKTA_POLL_MAX_PAGES: z._default(integer(1), 10),
  // Sign-in mapping: the Cognito attributes the IdP groups and Entra's object id are mapped to.
  GROUPS_ATTRIBUTE: z._default(z.string().check(z.regex(/^custom:[\w.-]+$/)), 'custom:groups'),
  OBJECT_ID_ATTRIBUTE: z._default(z.string().check(z.regex(/^custom:[\w.-]+$/)), 'custom:oid'),
  // Deprovisioning: also disable the Cognito user once no active membership is left.
  DISABLE_ON_DEPROVISION: z._default(z.enum(['true', 'false']), 'false'),
  // Microsoft Graph: overridden only to point at a local fake in tests and `npm start`.
  GRAPH_BASE_URL: z._default(z.url(), 'https://graph.microsoft.com/v1.0'),
  GRAPH_AUTHORITY_HOST: z._default(z.url(), 'https://login.microsoftonline.com'),
  // Only for moto_server in tests and `npm start`; unset on AWS.
  SECRETS_MANAGER_ENDPOINT: z.optional(z.url()),
  // The public base URL of the HTTP API, for the notification URLs of Graph subscriptions.
  HOOKS_BASE_URL: z.optional(z.url()),
  // Admin API: the user pool whose access tokens it accepts, the app clients allowed to call it,
  // and the Cognito group an admin must be in.
  ADMIN_USER_POOL_ID: z.optional(z.string().check(z.regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'expected a user pool id like us-east-1_AbC123'))),
  ADMIN_CLIENT_IDS: z.optional(commaList),
  ADMIN_GROUP: z._default(z.string().check(z.minLength(1)), 'sso-sync-admins'),
  // Admin API: where app clients it creates send users back, and the stage's folder in Secrets Manager.
  SSO_CALLBACK_URLS: z._default(commaList, ['http://localhost:3000/callback']),
  SSO_LOGOUT_URLS: z.optional(commaList),
  // Admin API's bulk replay: the stream processors' on-failure destination (ProcessEventsDeadLetterQueue).
  DEAD_LETTER_QUEUE_URL: z.optional(z.url()),
  // Only for moto_server in tests and `npm start`; unset on AWS.
  SQS_ENDPOINT: z.optional(z.url()),
  SECRETS_PREFIX: z._default(z.string().check(z.regex(/^[\w/+=.@-]+\/$/, 'expected a name prefix ending in /')), 'sso-sync/dev/'),
  // Only for the chaos run and tests: the share (0–1) of AWS SDK call attempts that fail (shared/injected-faults.ts).
  CHAOS_FAILURE_RATE: z._default(z.coerce.number().check(z.gte(0), z.lte(1)), 0),
  AWS_REGION: z._default(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region like us-east-1')), 'us-east-1'),
});

export type Config = {
  tableName: string;
  dynamoEndpoint: string | undefined;
  cognitoEndpoint: string | undefined;
  oktaEventTypes: ReadonlySet<string>;
  configCacheMs: number;
  maxWebhookBodyBytes: number;
  inboxRetentionDays: number;
  oktaPoll: { lookbackMinutes: number; maxPages: number };
  groupsAttribute: string;
  objectIdAttribute: string;
  disableOnDeprovision: boolean;
  graphBaseUrl: string;
  graphAuthorityHost: string;
  secretsManagerEndpoint: string | undefined;
  hooksBaseUrl: string | undefined;
  deadLetterQueueUrl: string | undefined;
  sqsEndpoint: string | undefined;
  admin: { userPoolId: string | undefined; clientIds: ReadonlySet<string>; group: string; callbackUrls: string[]; logoutUrls: string[]; secretsPrefix: string };
  chaosFailureRate: number;
  region: string;
};

/** Reads and validates the environment; throws a ConfigError naming every bad variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A blank variable counts as unset (e.g. DYNAMODB_ENDPOINT= in a shell).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value?.trim()));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(`Invalid environment: ${describeIssues(parsed.error, Infinity)}`);
  }
  const vars = parsed.data;
  return {
    tableName: vars.TABLE_NAME,
    dynamoEndpoint: vars.DYNAMODB_ENDPOINT,
    cognitoEndpoint: vars.COGNITO_ENDPOINT,
    oktaEventTypes: new Set(vars.OKTA_EVENT_TYPES),
    configCacheMs: vars.CONFIG_CACHE_SECONDS * 1000,
    maxWebhookBodyBytes: vars.MAX_WEBHOOK_BODY_BYTES,
    inboxRetentionDays: vars.INBOX_RETENTION_DAYS,
    oktaPoll: { lookbackMinutes: vars.OKTA_POLL_LOOKBACK_MINUTES, maxPages: vars.OKTA_POLL_MAX_PAGES },
    groupsAttribute: vars.GROUPS_ATTRIBUTE,
    objectIdAttribute: vars.OBJECT_ID_ATTRIBUTE,
    disableOnDeprovision: vars.DISABLE_ON_DEPROVISION === 'true',
    graphBaseUrl: vars.GRAPH_BASE_URL.replace(/\/+$/, ''),
    graphAuthorityHost: vars.GRAPH_AUTHORITY_HOST.replace(/\/+$/, ''),
    secretsManagerEndpoint: vars.SECRETS_MANAGER_ENDPOINT,
    hooksBaseUrl: vars.HOOKS_BASE_URL?.replace(/\/+$/, ''),
    deadLetterQueueUrl: vars.DEAD_LETTER_QUEUE_URL,
    sqsEndpoint: vars.SQS_ENDPOINT,
    admin: {
      userPoolId: vars.ADMIN_USER_POOL_ID,
      clientIds: new Set(vars.ADMIN_CLIENT_IDS ?? []),
      group: vars.ADMIN_GROUP,
      callbackUrls: vars.SSO_CALLBACK_URLS,
      logoutUrls: vars.SSO_LOGOUT_URLS ?? [],
      secretsPrefix: vars.SECRETS_PREFIX,
    },
    chaosFailureRate: vars.CHAOS_FAILURE_RATE,
    region: vars.AWS_REGION,
  };
}

let loaded: Config | undefined;

/** The process-wide configuration, read on first use (at a handler module's import). */
export function config(): Config {
  loaded ??= readConfig();
  return loaded;
}

/**
 * An AWS SDK client's options: the real service on AWS, or a local stand-in (DynamoDB Local,
 * moto_server) when its endpoint variable is set. Local services accept any credentials; these
 * keep a machine without AWS configuration working.
 */
export function clientOptions(localEndpoint: string | undefined) {
  if (!localEndpoint) return {};
  return {
    endpoint: localEndpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
  };
}
