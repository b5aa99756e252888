/** Writes docs/openapi.json from the admin routes and their descriptions; `--check` fails when the committed file is out of date. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The admin modules read the configuration at import; the document needs none of it.
process.env.TABLE_NAME ??= 'sso-sync-openapi';
const { adminRoutes } = await import('../shared/app/admin-routes.js');
const { adminOpenApi, adminRouteDocs } = await import('../shared/app/admin-openapi.js');

export const OPENAPI_FILE = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** The admin API's routes, as admin-api.ts builds them (the settings change no method or path). */
export function documentedRoutes() {
  return adminRoutes({
    disableOnDeprovision: false,
    ssoProviders: { userPoolId: 'us-east-1_Document', callbackUrls: [], logoutUrls: [], secretsPrefix: 'sso-sync/openapi/' },
    connections: { hooksBaseUrl: undefined, secretsPrefix: 'sso-sync/openapi/', oktaEventTypes: new Set<string>() },
  });
}

export function openApiText(): string {
  return `${JSON.stringify(adminOpenApi(documentedRoutes(), adminRouteDocs), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = openApiText();
  if (process.argv.includes('--check')) {
    if (readFileSync(OPENAPI_FILE, 'utf8') !== wanted) {
      console.error('docs/openapi.json is out of date: run `npm run openapi`');
      process.exit(1);
    }
  } else {
    writeFileSync(OPENAPI_FILE, wanted);
    console.log(`wrote ${OPENAPI_FILE}`);
  }
}
