/**
 * The admin API's OpenAPI 3.1 document, built from the route table and one description per
 * route; request bodies and query parameters come from the zod schemas the routes validate
 * with (z.toJSONSchema, JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 *
 * Strict both ways: a route without a description, or a description without a route, throws,
 * so the document cannot drift from the routes. A module adding routes exports its descriptions
 * (a RouteDocs) beside them, and adminRouteDocs below spreads them in.
 */
import * as z from 'zod/mini';
import { ssoProviderRequestSchema } from '../domain/sso-provider-request.js';
import { accountRequestSchema, ssoConfigRequestSchema } from './admin-accounts.js';
import { newConnectionSchema } from './admin-connections.js';
import { LISTED_STATUSES, listQuerySchema, replayRequestSchema } from './admin-events.js';

/** Answered before the token check, so tools can fetch the document without a token. */
export const ADMIN_OPENAPI_PATH = '/admin/openapi.json';

type Schema = z.core.$ZodType;

/** What the document says about one route; the route itself gives method, path and path parameters. */
export type RouteDoc = {
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Descriptions of the path's `{parameters}` (all strings, all required). */
  pathParams?: Record<string, string>;
  /** An object schema whose properties are the query parameters. */
  query?: Schema;
  body?: Schema;
  /** Success answers by status. */
  responses: Record<number, { description: string; schema?: Schema }>;
  /** The 4xx answers this route gives besides 401 and 403, which every admin route can give. */
  errors?: number[];
};

/** Keyed `METHOD /path`, exactly as in the route table. */
export type RouteDocs = Record<string, RouteDoc>;

export type DocumentedRoute = { method: string; path: string };

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid; `message` says what to change.',
  401: 'No valid access token of the admin user pool.',
  403: 'The token is valid, but its user is not in the admin group.',
  404: 'Not found.',
  409: 'Conflicts with the current state; `message` says how.',
  413: 'The body is larger than 256 KiB.',
  500: 'Internal error, nothing about it is exposed; retry.',
};

const errorSchema = {
  type: 'object',
  description: 'Every admin API error, in the shape of the setup endpoint it replaces.',
  properties: {
    status: { const: 'failed' },
    message: { type: 'string', description: 'What went wrong, for a person.' },
    error: { type: 'string', description: 'The detail, or the kind of error (ValidationError, NotFoundError, InternalError, ...).' },
  },
  required: ['status', 'message', 'error'],
  additionalProperties: false,
};

/** A zod schema as JSON Schema 2020-12, what a client sends (io: input: defaults make fields optional). */
function jsonSchemaOf(schema: Schema): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return json;
}

function queryParameters(schema: Schema) {
  const json = jsonSchemaOf(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return { name, in: 'query', required: json.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: propertySchema };
  });
}

function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
}

function errorResponse(status: number) {
  return { description: ERROR_DESCRIPTIONS[status] ?? 'Error.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

function operation(route: DocumentedRoute, doc: RouteDoc) {
  const parameters = [
    ...pathParameterNames(route.path).map((name) => ({ name, in: 'path', required: true, ...(doc.pathParams?.[name] ? { description: doc.pathParams[name] } : {}), schema: { type: 'string' } })),
    ...(doc.query ? queryParameters(doc.query) : []),
  ];
  const errors = [...new Set([...(doc.errors ?? []), ...(doc.body ? [400, 413] : []), 401, 403, 500])].sort((a, b) => a - b);
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(doc.body) } } } } : {}),
    responses: {
      ...Object.fromEntries(
        Object.entries(doc.responses).map(([status, answer]) => [
          status,
          { description: answer.description, ...(answer.schema ? { content: { 'application/json': { schema: jsonSchemaOf(answer.schema) } } } : {}) },
        ]),
      ),
      ...Object.fromEntries(errors.map((status) => [String(status), errorResponse(status)])),
    },
  };
}

/** The OpenAPI 3.1 document of these routes; throws when a route and the descriptions disagree. */
export function adminOpenApi(routes: readonly DocumentedRoute[], docs: RouteDocs) {
  const keyOf = (route: DocumentedRoute) => `${route.method} ${route.path}`;
  const routeKeys = new Set(routes.map(keyOf));
  const undocumented = [...routeKeys].filter((key) => !docs[key]);
  const routeless = Object.keys(docs).filter((key) => !routeKeys.has(key));
  if (undocumented.length > 0 || routeless.length > 0) {
    throw new Error(
      [undocumented.length ? `routes without a description: ${undocumented.join(', ')}` : '', routeless.length ? `descriptions without a route: ${routeless.join(', ')}` : '']
        .filter(Boolean)
        .join('; '),
    );
  }
  const paths: Record<string, Record<string, unknown>> = {
    [ADMIN_OPENAPI_PATH]: {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: { 200: { description: 'The OpenAPI 3.1 document of the admin API.', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  };
  for (const route of [...routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, docs[keyOf(route)] as RouteDoc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'sso-sync admin API',
      version: '1',
      description: 'Users, memberships, IdP events and SSO providers of sso-sync. Every route but this document needs an access token of the admin user pool whose user is in the admin group.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito access token of the admin user pool and an allowed app client (`npm run token`).' },
      },
      schemas: { Error: errorSchema },
    },
  };
}

const CONNECTION_ID = 'The connection (one IdP org or tenant), e.g. okta-acme.';
const ACCOUNT_ID = 'The account id.';

/** The descriptions of every admin route; a module of routes adds its own with `...itsRouteDocs`. */
export const adminRouteDocs: RouteDocs = {
  'POST /admin/sso-providers': {
    operationId: 'createSsoProviders',
    tag: 'sso-providers',
    summary: "Creates an account's SSO identity providers, app client, connection and SSO config",
    description: 'In one go, undone entirely on any failure. Secrets in the request are stored in Secrets Manager and never echoed.',
    body: ssoProviderRequestSchema,
    responses: { 201: { description: 'Created: `{status: "success", message, provider_names, connection_id, connection_created, client_id, ...}`.' } },
    errors: [409],
  },
  'GET /admin/users': {
    operationId: 'findUsers',
    tag: 'users',
    summary: 'The users linked to an email address through any connection',
    query: z.object({ email: z.string().check(z.maxLength(254)) }),
    responses: { 200: { description: '`{users: [{userId, connections}]}`.' } },
    errors: [400],
  },
  'GET /admin/users/{userId}': {
    operationId: 'getUser',
    tag: 'users',
    summary: "A user's identities, memberships and recent audit entries",
    pathParams: { userId: 'The user id.' },
    responses: { 200: { description: '`{userId, email, createdAt, identities, memberships, audit}`.' } },
    errors: [404],
  },
  'POST /admin/users/{userId}/memberships/{accountId}/restore': {
    operationId: 'restoreMembership',
    tag: 'users',
    summary: 'Restores a removed membership (audited with the admin)',
    pathParams: { userId: 'The user id.', accountId: 'The account id.' },
    responses: { 200: { description: '`{membership}`.' } },
    errors: [404, 409],
  },
  'POST /admin/users/{userId}/memberships/{accountId}/remove': {
    operationId: 'removeMembership',
    tag: 'users',
    summary: "Removes a membership and revokes the user's access (audited with the admin)",
    pathParams: { userId: 'The user id.', accountId: 'The account id.' },
    responses: { 200: { description: '`{membership, revocation}`.' } },
    errors: [404, 409],
  },
  'GET /admin/events': {
    operationId: 'listEvents',
    tag: 'events',
    summary: `IdP events with one outcome (${LISTED_STATUSES.join(', ')}), oldest first, a page at a time`,
    query: listQuerySchema,
    responses: { 200: { description: '`{events, cursor?}`; pass `cursor` back for the next page.' } },
    errors: [400],
  },
  'GET /admin/events/{connectionId}/{eventId}': {
    operationId: 'getEvent',
    tag: 'events',
    summary: "One event's outcome, attempts and detail",
    pathParams: { connectionId: CONNECTION_ID, eventId: "The IdP's event id." },
    responses: { 200: { description: 'The inbox event.' } },
    errors: [404],
  },
  'POST /admin/events/{connectionId}/{eventId}/replay': {
    operationId: 'replayEvent',
    tag: 'events',
    summary: 'Hands one event to its processor again (idempotent: an applied effect is not applied twice)',
    pathParams: { connectionId: CONNECTION_ID, eventId: "The IdP's event id." },
    responses: { 202: { description: '`{connectionId, eventId, status: "pending"}`.' } },
    errors: [404, 409],
  },
  'POST /admin/events/replay': {
    operationId: 'replayEvents',
    tag: 'events',
    summary: "Replays in bulk: every failed event of a connection, or the dead-letter queue's",
    description:
      'With `source: "dead-letter-queue"`, the messages taken from the queue are deleted only after every failed event is pending again; at most 500 events and 100 messages per call, `more: true` says to call again.',
    body: replayRequestSchema,
    responses: { 202: { description: '`{connectionId, status}` or `{source, messages, deleted, unrecognised, expired, rearmed}` (rearmed: events of the dead-lettered batches still pending, read back from the stream), with `{replayed, alreadyPending, more}`.' } },
  },
  'GET /admin/accounts/{accountId}': {
    operationId: 'getAccount',
    tag: 'accounts',
    summary: 'An account (whether it has an SSO config), with its ETag',
    pathParams: { accountId: ACCOUNT_ID },
    responses: { 200: { description: '`{accountId, name?, ssoConfig: "present"|"none", updatedAt}`, header `ETag`.' } },
    errors: [404],
  },
  'PUT /admin/accounts/{accountId}': {
    operationId: 'putAccount',
    tag: 'accounts',
    summary: 'Creates or replaces an account (its SSO config is untouched); replacing needs If-Match',
    pathParams: { accountId: ACCOUNT_ID },
    body: accountRequestSchema,
    responses: { 200: { description: 'Replaced, with the new `ETag`.' }, 201: { description: 'Created, with its `ETag`.' } },
    errors: [400, 412, 428],
  },
  'GET /admin/accounts/{accountId}/sso-config': {
    operationId: 'getSsoConfig',
    tag: 'accounts',
    summary: "An account's SSO config, with its ETag",
    pathParams: { accountId: ACCOUNT_ID },
    responses: { 200: { description: '`{accountId, active, cognitoClientId?, restoreOnSignIn, allowedDomains, providers, updatedAt}`, header `ETag`.' } },
    errors: [404],
  },
  'PUT /admin/accounts/{accountId}/sso-config': {
    operationId: 'putSsoConfig',
    tag: 'accounts',
    summary: "Creates or replaces an account's SSO config; replacing needs If-Match",
    description: 'Each provider must be an identity provider of the user pool linked to a connection; Entra groups are object ids (GUIDs). Group grants and account links follow the config in the same transaction.',
    pathParams: { accountId: ACCOUNT_ID },
    body: ssoConfigRequestSchema,
    responses: { 200: { description: 'Replaced, with the new `ETag`.' }, 201: { description: 'Created, with its `ETag`.' } },
    errors: [400, 412, 428],
  },
  'PATCH /admin/accounts/{accountId}/sso-config': {
    operationId: 'patchSsoConfig',
    tag: 'accounts',
    summary: 'Changes the top-level fields given (providers and allowedDomains replaced whole); needs If-Match',
    pathParams: { accountId: ACCOUNT_ID },
    responses: { 200: { description: 'The config, with the new `ETag`.' } },
    errors: [400, 404, 412, 428],
  },
  'DELETE /admin/accounts/{accountId}/sso-config': {
    operationId: 'deleteSsoConfig',
    tag: 'accounts',
    summary: 'Deactivates sign-in for the account (sso_inactive); memberships stay; needs If-Match',
    pathParams: { accountId: ACCOUNT_ID },
    responses: { 204: { description: 'Deactivated, with the new `ETag`.' } },
    errors: [404, 412, 428],
  },
  'GET /admin/connections': {
    operationId: 'listConnections',
    tag: 'connections',
    summary: 'Every connection, without secrets, hashes or clientStates',
    responses: { 200: { description: '`{connections: [...]}`.' } },
  },
  'POST /admin/connections': {
    operationId: 'createConnection',
    tag: 'connections',
    summary: 'Creates an Okta connection (its hook secret is answered once; with `register`, the event hook is created, verified and activated in Okta) or an Entra one (its Graph app secret goes to Secrets Manager)',
    body: newConnectionSchema,
    responses: {
      201: {
        description:
          'Okta: `{connection_id, type, hook_url, hook_auth_header, hook_secret, okta_event_hook?}`; Entra: `{connection_id, type, graph_notification_url, subscriptions: [{resource, subscriptionId, expiresAt}]}` (no clientState), or `subscriptions: []` and a `message` when the stage has no hooks base URL.',
      },
      502: {
        description:
          'Okta refused a registration step: the connection exists without a hook; `okta_step` and the hook secret (shown once). Entra: Graph refused a subscription or the app secret could not be read: the connection and its secret exist without subscriptions; `graph_step`, `resource`, `error`, `left_in_graph` if any could not be removed.',
      },
    },
    errors: [400, 409],
  },
  'GET /admin/connections/{connectionId}': {
    operationId: 'getConnection',
    tag: 'connections',
    summary: 'One connection, without secrets, hashes or clientStates',
    pathParams: { connectionId: CONNECTION_ID },
    responses: { 200: { description: 'The connection.' } },
    errors: [404],
  },
  'DELETE /admin/connections/{connectionId}': {
    operationId: 'deactivateConnection',
    tag: 'connections',
    summary: "Deactivates a connection: its hook secrets go, a registered Okta hook and an Entra connection's Graph subscriptions are deleted, its memberships stay",
    pathParams: { connectionId: CONNECTION_ID },
    responses: { 200: { description: '`{connection_id, deactivatedAt, okta_event_hook?, graph_subscriptions?: {deleted, failed}}`.' } },
    errors: [404, 409],
  },
  'POST /admin/connections/{connectionId}/rotate-secret': {
    operationId: 'rotateHookSecret',
    tag: 'connections',
    summary: 'Adds a second Okta hook secret, answered once; both work until the old one is retired',
    pathParams: { connectionId: CONNECTION_ID },
    responses: { 200: { description: '`{connection_id, hook_secret, active_secrets}`.' } },
    errors: [404, 409],
  },
  'POST /admin/connections/{connectionId}/retire-secret': {
    operationId: 'retireHookSecret',
    tag: 'connections',
    summary: 'Keeps only the newest Okta hook secret',
    pathParams: { connectionId: CONNECTION_ID },
    responses: { 200: { description: '`{connection_id, active_secrets}`.' } },
    errors: [404, 409],
  },
};
