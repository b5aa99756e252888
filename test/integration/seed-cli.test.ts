/** `npm run seed -- <file> --endpoint URL`: a good file is loaded, a bad one is refused whole. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoClient, documentClient } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';

const run = promisify(execFile);
const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
const dir = mkdtempSync(join(tmpdir(), 'seed-cli-'));

function seedFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

async function seedCli(file: string, table: string) {
  try {
    const { stdout, stderr } = await run('node_modules/.bin/tsx', ['scripts/seed.ts', file, '--endpoint', endpoint, '--table', table]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run seed', () => {
  it('loads the demo seed into a new table', async () => {
    const table = `seed-ok-${crypto.randomUUID()}`;
    const result = await seedCli('seed/demo.json', table);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('3 connections, 3 accounts, 5 users');
    const { Item } = await documentClient.send(new GetCommand({ TableName: table, Key: keys.connection('demo-okta') }));
    expect(Item).toMatchObject({ type: 'okta', providerNames: ['Okta'] });
    expect(JSON.stringify(Item)).not.toContain('demo-okta-hook-secret');
  });

  it('refuses a bad file with the path of each bad field and writes nothing', async () => {
    const table = `seed-bad-${crypto.randomUUID()}`;
    const file = seedFile('bad.json', {
      connections: [{ id: 'okta-1', type: 'okta', providerNames: ['Okta'], hookSecrets: ['short'] }],
      accounts: [
        {
          id: 'acct',
          ssoConfig: {
            active: true,
            allowedDomains: ['example.com'],
            providers: [{ connectionId: 'okta-1', providerName: 'Okta', groups: [{ group: 'G', role: 'Owner' }] }],
          },
        },
      ],
    });
    const result = await seedCli(file, table);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('connections[0].hookSecrets[0]');
    expect(result.stderr).toContain('accounts[0].ssoConfig.providers[0].groups[0].role');
    expect(result.stderr).toContain('Nothing was written');
    await expect(dynamoClient.send(new DescribeTableCommand({ TableName: table }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('refuses references to connections and accounts the file does not declare', async () => {
    const file = seedFile('dangling.json', {
      connections: [{ id: 'okta-1', type: 'okta', providerNames: ['Okta'], hookSecrets: ['x'.repeat(40)] }],
      users: [{ email: 'a@example.com', identities: [{ connectionId: 'okta-2' }], memberships: [{ accountId: 'nope', role: 'Viewer' }] }],
    });
    const result = await seedCli(file, `seed-dangling-${crypto.randomUUID()}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('users[0].identities[0].connectionId: unknown connection "okta-2"');
    expect(result.stderr).toContain('users[0].memberships[0].accountId: unknown account "nope"');
  });

  it('says so when the file is not JSON', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"connections": [');
    const result = await seedCli(path, `seed-broken-${crypto.randomUUID()}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not valid JSON');
  });
});
