/**
 * Issue 12, part 3: fuzzing the admin API. Every route of shared/app/admin-routes.ts (the list is
 * read from it, so a new route is fuzzed too), called with a valid admin token and random path
 * parameters, query strings, If-Match and content-type headers and bodies (valid requests mutated,
 * random JSON, text and bytes, base64, deep nesting, over the 256 KB limit), straight through the
 * real handler with API Gateway v2 events.
 *
 * What the product promises: never a 500 (a 5xx says the service failed); the one 502 is
 * POST /admin/connections when the connection was stored but Okta or Graph refused the next step.
 * A refused request (4xx) writes nothing: every DynamoDB write the handler makes is recorded
 * (test/helpers/write-watch.ts) and a refused request must have made none; the whole table is
 * compared with what the recorded writes explain every 500 cases and after each route.
 * `npm run fuzz` makes 10,000 cases per route (one property per route, so its runs are its cases).
 * Connection ids of Entra connections are left out of the path parameters: deactivating one
 * deletes its subscriptions in Graph, which is not faked here.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Configuration is read at the handler's import: the admin pool and client must exist before it.
const admin = await vi.hoisted(async () => {
  const { createLocalAdmin } = await import('../../scripts/lib/local-admin.js');
  const created = await createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `fuzz-${crypto.randomUUID()}`);
  process.env.ADMIN_USER_POOL_ID = created.userPoolId;
  process.env.ADMIN_CLIENT_IDS = created.clientId;
  return created;
});

const { handler } = await import('../../functions/admin-api.js');
const { adminRoutes } = await import('../../shared/app/admin-routes.js');
const { adminApiEvent } = await import('../helpers/admin.js');
const { localAdminToken } = await import('../../scripts/lib/local-admin.js');
const { lambdaContext } = await import('../../scripts/lib/local-stream.js');
const { createSeededTable, userIdOf } = await import('../helpers/stack.js');
const { WriteWatch } = await import('../helpers/write-watch.js');
const { countCase, fuzzRuns, reportFuzzTally, FUZZ_CASES_PER_ROUTE } = await import('../helpers/fuzz.js');
const { contentTypes, fuzzedBodies } = await import('../helpers/fuzz-bodies.js');
const { answerOf, failOnUnhandledRejections, fuzzTimeout } = await import('../helpers/fuzz-http.js');
const { registerSecret } = await import('../helpers/log-scan.js');

const MAX_ADMIN_BODY_BYTES = 256 * 1024;

/** The routes as the handler has them; only their method and path are used here. */
const ROUTES = adminRoutes({
  disableOnDeprovision: false,
  ssoProviders: { userPoolId: admin.userPoolId, callbackUrls: [], logoutUrls: [], secretsPrefix: 'unused/' },
  connections: { hooksBaseUrl: undefined, secretsPrefix: 'unused/' },
}).map(({ method, path }) => ({ method, path }));

/** A valid request body per route that takes one (mutations start from it); `{}` for the others. */
function validBody(method: string, path: string): () => never {
  const suffix = () => crypto.randomUUID().slice(0, 8);
  const bodies: Record<string, () => unknown> = {
    'PUT /admin/accounts/{accountId}': () => ({ name: 'Fuzzed account' }),
    'PUT /admin/accounts/{accountId}/sso-config': () => ({
      active: true,
      allowedDomains: ['example.com'],
      providers: [{ providerName: 'OktaA', connectionId: 'okta-a', groups: [{ group: 'Finance-Approvers', role: 'Admin' }] }],
    }),
    'PATCH /admin/accounts/{accountId}/sso-config': () => ({ active: false, allowedDomains: ['example.org'] }),
    'POST /admin/connections': () =>
      Math.random() < 0.5
        ? { type: 'okta', connection_id: `fuzz-okta-${suffix()}`, org_url: 'https://fuzz.okta.example', hook_auth_header: 'authorization' }
        : { type: 'entra', connection_id: `fuzz-entra-${suffix()}`, tenant_id: crypto.randomUUID(), client_id: crypto.randomUUID(), client_secret: 'fuzz-client-secret' },
    'POST /admin/sso-providers': () => ({
      account_id: `fuzz-${suffix()}`,
      provider_name: `Fuzz${suffix()}`,
      oidc_issuer: 'https://fuzz.okta.example',
      client_id: 'fuzz-client',
      client_secret: 'fuzz-secret',
      group: 'Finance-Approvers',
      role: 'Viewer',
      allowed_domain: 'example.com',
    }),
    'POST /admin/events/replay': () => ({ connectionId: 'okta-a', status: 'failed' }),
  };
  return (bodies[`${method} ${path}`] ?? (() => ({}))) as () => never;
}

/** Path parameter values: the seed's ids, unknown ones, and ones no id can be (encodings, dots, huge). */
const pathParameter = fc.oneof(
  fc.constantFrom('acme', 'globex', 'okta-a', 'okta-b', 'initech', userIdOf('alex.doe@example.com'), 'no-such-id', 'sha256-0', crypto.randomUUID()),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('%', '%E0%A4%A', '%FF', '%00', '..', '.', 'a%2Fb', '%2e%2e', 'ACME', 'acme%20', '__proto__', 'constructor', 'x'.repeat(3000)),
);

const QUERY_NAMES = ['email', 'connectionId', 'status', 'limit', 'cursor', 'from', 'to', 'source', 'eventType', 'next', 'x'];
const queryString = fc
  .array(fc.tuple(fc.constantFrom(...QUERY_NAMES), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('alex.doe@example.com', 'okta-a', 'failed', '0', '-1', '1e9', 'NaN', '%', 'a@b', `${'x'.repeat(300)}@example.com`))), { maxLength: 4 })
  .map((pairs) => pairs.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&'));

const ifMatch = fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('*', '"v1"', 'W/"v1"', '"', '"0", "1"')), { nil: undefined });

let token: string;
let watch: import('../helpers/write-watch.js').WriteWatch;
beforeAll(async () => {
  await createSeededTable();
  token = await localAdminToken(admin);
  registerSecret(token);
  watch = await WriteWatch.start();
});
failOnUnhandledRejections();
reportFuzzTally('fuzz-admin');

describe.each(ROUTES)('admin API $method $path, fuzzed', ({ method, path }) => {
  const limitBytes = MAX_ADMIN_BODY_BYTES;
  const bodies = fuzzedBodies(validBody(method, path), { limitBytes });
  const concretePath = fc.array(pathParameter, { minLength: 4, maxLength: 4 }).map((values) => {
    let index = 0;
    return path.replace(/\{[^}]+\}/g, () => values[index++] ?? 'x');
  });
  const upstreamStep = method === 'POST' && path === '/admin/connections';

  it('never a 500; a refused request writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(concretePath, queryString, bodies, contentTypes, ifMatch, async (requestPath, query, body, contentType, etag) => {
        countCase(`admin ${method} ${path}`);
        const event = adminApiEvent(method, requestPath, {
          token,
          query,
          headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...(etag === undefined ? {} : { 'if-match': etag }) },
        });
        const { result: answer, writes } = await watch.around(() => answerOf(() => handler({ ...event, body: body.body, isBase64Encoded: body.isBase64Encoded }, lambdaContext('admin-api'))));
        const status = answer.statusCode ?? 0;
        const described = `${method} ${requestPath.slice(0, 120)} ${body.label}: ${status} ${answer.body?.slice(0, 300)}`;
        expect(status, described).not.toBe(500);
        if (status >= 500) expect(upstreamStep && status === 502, described).toBe(true);
        if (status >= 400 && status !== 502) expect(writes, `${described}: refused, so nothing written`).toEqual([]);
        // Every answer, error or not, is JSON (the admin error shape for errors).
        const parsed = JSON.parse(answer.body || '{}') as Record<string, unknown>;
        if (status >= 400) expect(parsed).toMatchObject({ status: 'failed', message: expect.any(String), error: expect.any(String) });
      }),
      { numRuns: fuzzRuns(method === 'GET' ? 8 : 12, FUZZ_CASES_PER_ROUTE) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(method === 'GET' ? 8 : 12, FUZZ_CASES_PER_ROUTE), 1_000));
});
