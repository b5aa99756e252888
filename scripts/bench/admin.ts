/**
 * The admin API through its real handler, warm, with a real access token moto signs: latency of
 * GET /admin/connections and of an SSO config PUT (a conditional replace with If-Match, the
 * group grants kept in step). Import after the environment (and the admin pool) is set.
 */
import { callAdminApi, type AdminAnswer, type AdminRequest } from '../../test/helpers/admin.js';
import { createOidcProvider } from '../../shared/idp/cognito-providers.js';
import { localAdminToken, type LocalAdmin } from '../lib/local-admin.js';
import { summarize } from './stats.js';

const ACCOUNT = 'bench-a';
const PROVIDER_NAME = 'BenchOkta';

async function call(method: string, path: string, options: AdminRequest): Promise<AdminAnswer> {
  const answer = await callAdminApi(method, path, options);
  if (answer.status >= 300) throw new Error(`admin bench: ${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer;
}

export async function runAdminBenchmark(admin: LocalAdmin, options: { samples: number }, log: (message: string) => void) {
  log(`adminApi: ${options.samples} warm GET /admin/connections and ${options.samples} SSO config PUTs`);
  // The bench seed's provider, as an identity provider of the admin pool (the PUT checks it exists).
  await createOidcProvider({
    userPoolId: admin.userPoolId,
    providerName: PROVIDER_NAME,
    providerDetails: { client_id: 'bench', client_secret: 'bench', oidc_issuer: 'https://bench.okta.com', authorize_scopes: 'openid email profile', attributes_request_method: 'GET' },
    attributeMapping: { email: 'email', 'custom:groups': 'groups' },
  });
  const token = await localAdminToken(admin);
  for (let warm = 0; warm < 5; warm++) await call('GET', '/admin/connections', { token });
  const gets: number[] = [];
  for (let sample = 0; sample < options.samples; sample++) {
    const started = performance.now();
    await call('GET', '/admin/connections', { token });
    gets.push(performance.now() - started);
  }
  const puts: number[] = [];
  const config = (role: string) => ({ active: true, allowedDomains: ['example.com'], providers: [{ providerName: PROVIDER_NAME, groups: [{ group: 'Bench-Engineering', role }] }] });
  for (let sample = 0; sample < options.samples + 5; sample++) {
    const current = await call('GET', `/admin/accounts/${ACCOUNT}/sso-config`, { token });
    const etag = current.headers?.etag ?? current.headers?.ETag;
    const started = performance.now();
    await call('PUT', `/admin/accounts/${ACCOUNT}/sso-config`, { token, body: config(sample % 2 === 0 ? 'Viewer' : 'Reviewer'), headers: { 'if-match': String(etag) } });
    if (sample >= 5) puts.push(performance.now() - started);
  }
  return { getConnections: summarize(gets), putSsoConfig: summarize(puts) };
}
