/**
 * A connection (one Okta org or Entra tenant): the one schema of the item the table holds, which
 * the webhooks, sign-in and the scheduled jobs parse; the seed file's connection takes its
 * fields from here and adds what a person writes instead of hashes (plain hook secrets).
 */
import * as z from 'zod/mini';
import { ID_PATTERN } from './ids.js';

export const idSchema = z.string().check(z.regex(ID_PATTERN, 'use letters, digits, ".", "_" or "-" (at most 64, no "#")'));

export const connectionTypeSchema = z
  .enum(['okta', 'entra'])
  .check(z.describe('okta: an Okta org (event hook); entra: a Microsoft Entra tenant (Graph change notifications)'));

export const graphAppSchema = z.object({
  clientId: z.uuid().check(z.describe('the application (client) id of the Entra app registration')),
  clientSecretRef: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(2048),
      z.describe('name or ARN of the AWS Secrets Manager secret that holds the client secret (never the secret itself)'),
    ),
});

/** A connection as the table holds it. */
export const connectionSchema = z.object({
  connectionId: z.string(),
  type: connectionTypeSchema,
  name: z.optional(z.string()),
  providerNames: z.array(z.string()),
  /** Lowercased header name Okta sends the secret in (its "Authentication field"). */
  hookAuthHeader: z._default(z.string(), 'authorization'),
  /** SHA-256 hex of the active webhook secrets: one, or two while rotating. */
  hookSecretHashes: z._default(z.array(z.string()).check(z.maxLength(2)), []),
  /** Okta: the org URL (https://<org>.okta.com), without a trailing slash. */
  orgUrl: z.optional(z.string()),
  /** Okta: name or ARN of the Secrets Manager secret holding an API token (event hook registration, System Log polling). */
  oktaApiTokenRef: z.optional(z.string()),
  /** Entra: the tenant (directory) id, lowercased. */
  tenantId: z.optional(z.string()),
  /** Entra: the Graph app; the client secret stays in Secrets Manager. */
  graph: z.optional(graphAppSchema),
  /** Entra: a disabled user loses their memberships. */
  deprovisionOnDisable: z._default(z.boolean(), true),
  /** Okta: a suspended user (user.lifecycle.suspend) loses their memberships, as a disabled Entra user does. */
  deprovisionOnSuspend: z._default(z.boolean(), true),
  /** Set by the admin API's DELETE: the connection is kept (its memberships stay) but no longer served or maintained. */
  deactivatedAt: z.optional(z.string()),
});

export type Connection = z.infer<typeof connectionSchema>;
