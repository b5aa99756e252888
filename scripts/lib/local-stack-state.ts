/** What `npm start` tells `npm run demo`: where the running stack is. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LocalAdmin } from './local-admin.js';

// LOCAL_STACK_STATE_FILE lets a test run its own stack beside one a developer has running.
export const STATE_FILE = process.env.LOCAL_STACK_STATE_FILE ?? fileURLToPath(new URL('../../.local-stack.json', import.meta.url));

export type LocalStackState = {
  pid: number;
  dynamoEndpoint: string;
  tableName: string;
  httpUrl: string;
  seedFile: string;
  /** The local fake Graph and moto (Secrets Manager) the stack runs, when it runs them. */
  graphBaseUrl?: string;
  graphAuthorityHost?: string;
  secretsManagerEndpoint?: string;
  /** The local fake Okta (every Okta connection of the seed points at it) and how often the pollers run. */
  oktaOrgUrl?: string;
  pollIntervalSeconds?: number;
  /** The admin user pool in moto, for `npm run token` (local only: a throwaway password). */
  admin?: LocalAdmin;
};

export function writeState(state: LocalStackState): void {
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(): LocalStackState | undefined {
  try {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LocalStackState;
    process.kill(state.pid, 0); // throws when that `npm start` is gone
    return state;
  } catch {
    return undefined;
  }
}

export function removeState(): void {
  rmSync(STATE_FILE, { force: true });
}

/**
 * Points a command-line script at the running stack's fake Graph and its Secrets Manager, unless
 * GRAPH_BASE_URL names another Graph. Returns whether it did, so the caller knows to trust the fake.
 */
export function useLocalGraph(state: LocalStackState | undefined): boolean {
  if (!state?.graphBaseUrl || !state.graphAuthorityHost || !state.secretsManagerEndpoint || process.env.GRAPH_BASE_URL) return false;
  // The secrets the stack's fake Graph accepts are in the stack's moto, whatever else is set.
  Object.assign(process.env, {
    GRAPH_BASE_URL: state.graphBaseUrl,
    GRAPH_AUTHORITY_HOST: state.graphAuthorityHost,
    SECRETS_MANAGER_ENDPOINT: state.secretsManagerEndpoint,
  });
  return true;
}

/**
 * Points a command-line script at its table: `--endpoint` and `--table`, else the running
 * `npm start` stack's, else TABLE_NAME or sso-sync-dev. Also quiets what a terminal does not need:
 * the SDK's Node version warning and the EMF metric lines (CloudWatch's, noise here).
 */
export function useStackTable(options: ReadonlyMap<string, string | true>, stack: LocalStackState | undefined): void {
  const endpoint = options.get('endpoint') ?? stack?.dynamoEndpoint;
  const table = options.get('table') ?? stack?.tableName;
  if (typeof endpoint === 'string') process.env.DYNAMODB_ENDPOINT = endpoint;
  process.env.TABLE_NAME = typeof table === 'string' ? table : (process.env.TABLE_NAME ?? 'sso-sync-dev');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
