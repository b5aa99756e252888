/**
 * `npm start` as a child process with its own state file, for the scripts that drive the whole
 * local stack over HTTP (`npm run load`, `npm run chaos`): started with a seed file and extra
 * environment, stopped with its whole process group.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './dynamodb-local.js';
import type { LocalStackState } from './local-stack-state.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type LocalStackChild = {
  httpUrl: string;
  state: LocalStackState;
  /** Everything the stack printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
};

/**
 * Starts `scripts/start.ts` with `seedFile`, its state in `directory`, and `env` on top of this
 * process's environment; resolves once it is up. Points this process at the stack's table
 * (DYNAMODB_ENDPOINT, TABLE_NAME, LOCAL_STACK_STATE_FILE), so shared/store can read it.
 */
export async function startLocalStackChild(directory: string, seedFile: string, env: Record<string, string> = {}): Promise<LocalStackChild> {
  const stateFile = join(directory, 'state.json');
  const childEnv = {
    ...process.env,
    SEED_FILE: seedFile,
    LOCAL_STACK_STATE_FILE: stateFile,
    HTTP_PORT: String(await freePort()),
    // serverless-offline starts a worker per request in flight and counts its cold start (loading
    // the bundle, seconds on a busy 2-core machine) in the function's timeout: with 50 in flight the
    // 5 s hooks time out before running a line. Lambda's init is not in the timeout; so no timeout here.
    OFFLINE_FLAGS: '--noTimeout',
    // On a loaded machine serverless-offline may take over a minute to bundle the functions and listen.
    OFFLINE_START_SECONDS: '180',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    ...env,
  };
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/start.ts'], { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGINT');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  };
  for (const deadline = Date.now() + 300_000; !output.includes('Press Ctrl-C'); ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not come up:\n${output.slice(-2000)}`);
    }
    await sleep(250);
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalStackState;
  Object.assign(process.env, {
    LOCAL_STACK_STATE_FILE: stateFile,
    DYNAMODB_ENDPOINT: state.dynamoEndpoint,
    TABLE_NAME: state.tableName,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  return { httpUrl: state.httpUrl, state, output: () => output, stop };
}

/** An admin access token of the running child stack (`npm run token`). */
export async function localStackAdminToken(): Promise<string> {
  return (await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/token.ts'], { cwd: ROOT, env: process.env })).stdout.trim();
}
