/** The admin API's logs say who did what, and never carry a token, a secret it was given or one it made. */
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Powertools reads the level at import: configure it, and the admin pool, before the handler loads.
const admin = await vi.hoisted(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  const { createLocalAdmin } = await import('../../scripts/lib/local-admin.js');
  const created = await createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `admin-logs-${crypto.randomUUID()}`);
  process.env.ADMIN_USER_POOL_ID = created.userPoolId;
  process.env.ADMIN_CLIENT_IDS = created.clientId;
  return created;
});

const { callAdminApi } = await import('../helpers/admin.js');
const { localAdminToken } = await import('../../scripts/lib/local-admin.js');
const { createSeededTable } = await import('../helpers/stack.js');

const { captureLogLines } = await import('../helpers/logs.js');

const lines = captureLogLines();

beforeAll(async () => {
  await createSeededTable();
});

describe('admin API logs', () => {
  it('name the admin and the route, and hold no token or secret', async () => {
    const token = await localAdminToken(admin);
    const apiToken = `okta-api-token-${crypto.randomUUID()}`;
    const graphSecret = `graph-secret-${crypto.randomUUID()}`;
    const clientSecret = `oidc-client-secret-${crypto.randomUUID()}`;
    const okta = await callAdminApi('POST', '/admin/connections', { token, body: { type: 'okta', connection_id: `logs-okta-${crypto.randomUUID().slice(0, 6)}`, org_url: 'https://logs.okta.com', api_token: apiToken } });
    const hookSecret = String(okta.body.hook_secret);
    const rotated = await callAdminApi('POST', `/admin/connections/${String(okta.body.connection_id)}/rotate-secret`, { token });
    await callAdminApi('POST', '/admin/connections', { token, body: { type: 'entra', connection_id: `logs-entra-${crypto.randomUUID().slice(0, 6)}`, tenant_id: crypto.randomUUID(), client_id: crypto.randomUUID(), client_secret: graphSecret } });
    const org = `logs-${crypto.randomUUID().slice(0, 8)}`;
    await callAdminApi('POST', '/admin/sso-providers', { token, body: { provider: { client_id: '0oalogs', client_secret: clientSecret, oidc_issuer: `https://${org}.okta.com` }, group: 'G', allowed_domain: 'example.com', account_id: `acct-${org}` } });
    await callAdminApi('GET', '/admin/events', { token: `${token}x` });

    const all = lines.join('\n');
    expect(all).toContain('"admin request"');
    expect(all).toContain('admin token refused');
    for (const secret of [token, apiToken, graphSecret, clientSecret, hookSecret, String(rotated.body.hook_secret), admin.password]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(all).not.toContain(secret);
    }
  });
});
