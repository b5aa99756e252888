/**
 * The newcomer's path, for real: `npm start` (DynamoDB Local, seed, serverless-offline, the
 * stream) and `npm run demo` against it over HTTP, then Ctrl-C stops everything it started.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, JavaMissingError, startDynamoDbLocal } from '../../scripts/lib/dynamodb-local.js';

const run = promisify(execFile);
const stateFile = join(mkdtempSync(join(tmpdir(), 'local-stack-')), 'state.json');

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start and npm run demo', async () => {
  const env = {
    ...process.env,
    LOCAL_STACK_STATE_FILE: stateFile,
    HTTP_PORT: String(await freePort()),
    DYNAMODB_ENDPOINT: '',
    TABLE_NAME: '',
    POLL_INTERVAL_SECONDS: '2',
  };
  const stack = spawn('node_modules/.bin/tsx', ['scripts/start.ts'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let httpUrl = '';
  stack.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  stack.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

  afterAll(() => {
    if (stack.exitCode === null && stack.pid) process.kill(-stack.pid, 'SIGKILL');
  });

  it('starts, prints the hook URLs and secrets, and the demo shows a membership deleted', { timeout: 300_000 }, async () => {
    // Generous: on a busy 2-core machine, bundling and starting every function can take over 90 s.
    const deadline = Date.now() + 200_000;
    while (!output.includes('Press Ctrl-C') && Date.now() < deadline && stack.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The stack may move off a port that was taken meanwhile: read the URL it printed.
    httpUrl = /GET\|POST (http:\/\/localhost:\d+)\/hooks\/okta\/demo-okta/.exec(output)?.[1] ?? '';
    expect(httpUrl).toMatch(/^http:\/\/localhost:\d+$/);
    expect(output).toContain('demo-okta-hook-secret-do-not-use-in-production-0000');
    expect(output).toContain('npm run demo');

    const demo = await run('node_modules/.bin/tsx', ['scripts/demo.ts'], { env });
    expect(demo.stdout).toMatch(/before\s+alex\.doe@example\.com in demo-account: active/);
    expect(demo.stdout).toMatch(/→ 200 in/);
    // npm start points demo-okta at its fake Okta with an API token: Okta is asked for alex's other groups.
    expect(output).toMatch(/fake Okta on https:\/\/127\.0\.0\.1:\d+/);
    expect(demo.stdout).toMatch(/applied \(soft-deleted membership in demo-account\)/);
    expect(demo.stdout).toMatch(/after\s+alex\.doe@example\.com in demo-account: deleted/);
    // Entra: Graph notifications over HTTP through graph-hook, applied by process-graph-events.
    expect(output).toContain(`POST ${httpUrl}/hooks/graph/demo-entra`);
    expect(demo.stdout).toMatch(/\/hooks\/graph\/demo-entra \(Groups\/[0-9a-f-]+ updated\) → 202 in/);
    expect(demo.stdout).toMatch(/after\s+sam\.lee@example\.com in demo-entra-account: deleted\s+role=Author .*reason="in no Entra group that grants access \(after a change of group/);
    expect(demo.stdout).toMatch(/\/hooks\/graph\/demo-entra \(Users\/[0-9a-f-]+ deleted\) → 202 in/);
    expect(demo.stdout).toMatch(/after\s+jo\.park@example\.com in demo-entra-account: deleted\s+role=Admin .*reason="user permanently deleted in Entra ID"/);
    // A disabled user: process-graph-events asks the stack's fake Graph, which says accountEnabled false.
    expect(demo.stdout).toMatch(/after\s+lee\.wong@example\.com in demo-entra-account: deleted\s+role=Author .*reason="user disabled in Entra ID \(accountEnabled false\)"/);

    // The admin API with a token of the stack's admin user (moto signs it, the handler checks it).
    const token = (await run('node_modules/.bin/tsx', ['scripts/token.ts'], { env })).stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const users = await fetch(`${httpUrl}/admin/users?email=riley.chen%40example.com`, { headers: { authorization: `Bearer ${token}` } });
    expect(users.status).toBe(200);
    expect(await users.json()).toEqual({ users: [{ userId: 'riley', connections: ['demo-okta'] }] });
    expect((await fetch(`${httpUrl}/admin/users?email=riley.chen%40example.com`)).status).toBe(401);

    // No webhook at all: changes made only in the fake Okta and the fake Graph, found by the stack's pollers.
    const polled = await run('node_modules/.bin/tsx', ['scripts/demo.ts', 'poll'], { env });
    expect(polled.stdout).toMatch(/after\s+riley\.chen@example\.com in demo-account: deleted\s+role=Author .*reason="IdP user deactivated"/);
    expect(polled.stdout).toMatch(/after\s+lee\.wong@example\.com in demo-entra-account: deleted\s+role=Author .*reason="user disabled in Entra ID \(accountEnabled false\)"/);
    expect(polled.stdout.match(/applied [\d.]+ s after the change, by the pollers alone/g)).toHaveLength(2);
    const pollOnce = await run('node_modules/.bin/tsx', ['scripts/poll.ts'], { env });
    // The stack's own pollers run too (every 2 s here): one of them may move a cursor first.
    expect(pollOnce.stdout).toMatch(/okta  demo-okta: 1 request\(s\), 0 event\(s\) read, 0 new, 0 already in the inbox; stopped: (caughtUp|cursorMoved)/);
    expect(pollOnce.stdout).toMatch(/graph demo-entra: users (polled|cursorMoved), 1 request\(s\), 0 new hint\(s\); groups (polled|cursorMoved), 1 request\(s\), 0 new hint\(s\)/);

    // Reconciliation from the command line, against the stack's table and fake Graph.
    const reconcile = await run('node_modules/.bin/tsx', ['scripts/reconcile.ts', 'demo-entra', '--dry-run'], { env });
    expect(reconcile.stdout).toMatch(/demo-entra: 1 account\(s\), 2 granting group\(s\)/);
    expect(reconcile.stdout).toMatch(/Dry run: \d+ membership\(s\) would be soft-deleted; nothing was written/);
    // And an Okta connection, against the stack's fake Okta (its groups and users made from the seed).
    const oktaReconcile = await run('node_modules/.bin/tsx', ['scripts/reconcile.ts', 'demo-okta', '--dry-run'], { env });
    expect(oktaReconcile.stdout).toMatch(/demo-okta: group 1\/2 Finance-Approvers: \d+ member\(s\) in 1 Okta group\(s\)/);
    expect(oktaReconcile.stdout).toMatch(/Dry run: \d+ membership\(s\) would be soft-deleted; nothing was written/);
  });

  it('stops everything it started on Ctrl-C', { timeout: 30_000 }, async () => {
    const dynamoPort = Number(/DynamoDB Local on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
    expect(dynamoPort).toBeGreaterThan(0);
    expect(stack.exitCode).toBeNull();
    const exited = new Promise((resolve) => stack.once('exit', resolve));
    process.kill(-(stack.pid as number), 'SIGINT'); // what a terminal sends to the foreground group
    await exited;
    expect(output).toContain('Stopping the local stack');
    // Within a few seconds nothing answers on the stack's ports any more.
    const answers = (url: string) => fetch(url, { signal: AbortSignal.timeout(1000) }).then(() => true, () => false);
    const deadline = Date.now() + 15_000;
    while ((await answers(`${httpUrl}/`)) || (await answers(`http://127.0.0.1:${dynamoPort}/`))) {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await answers(`${httpUrl}/`)).toBe(false);
    expect(await answers(`http://127.0.0.1:${dynamoPort}/`)).toBe(false);
    expect(isRunning(stack.pid as number)).toBe(false);
  });
});

describe('DynamoDB Local without Java', () => {
  it('says that Java is needed and how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDynamoDbLocal()).rejects.toBeInstanceOf(JavaMissingError);
      await expect(startDynamoDbLocal()).rejects.toThrow(/Java 17/);
    } finally {
      process.env.PATH = path;
    }
  });
});
