/**
 * npm run token — prints an admin access token of the running `npm start` stack, for curl:
 *   curl -H "Authorization: Bearer $(npm run -s token)" http://localhost:3000/admin/events
 */
import { readState } from './lib/local-stack-state.js';
import { localAdminToken } from './lib/local-admin.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const state = readState();
if (!state?.admin) {
  console.error(state ? 'The running stack has no admin user pool (moto_server was not found when it started).' : 'No running stack: start it with npm start.');
  process.exit(1);
}
console.log(await localAdminToken(state.admin));
