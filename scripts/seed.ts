/**
 * npm run seed -- <file> [--endpoint URL] [--table NAME]
 *
 * Loads a seed file into a table. The whole file is checked first; a bad file is refused with
 * the path of every bad field and nothing is written. With --endpoint (DynamoDB Local) the
 * table is created when missing; without it, the table of your AWS credentials is used as is.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from './lib/args.js';

const { positional, options } = parseArgs(process.argv.slice(2));
const file = positional[0];
if (!file) {
  console.error('usage: npm run seed -- <seed.json> [--endpoint http://127.0.0.1:8000] [--table sso-sync-dev]');
  process.exit(2);
}

const endpoint = options.get('endpoint');
const table = options.get('table');
if (typeof endpoint === 'string') process.env.DYNAMODB_ENDPOINT = endpoint;
process.env.TABLE_NAME = typeof table === 'string' ? table : (process.env.TABLE_NAME ?? 'sso-sync-dev');
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { parseSeed, SeedError } = await import('../shared/domain/seed.js');

let seed;
try {
  seed = parseSeed(JSON.parse(readFileSync(file, 'utf8')));
} catch (error) {
  if (error instanceof SeedError) console.error(`${file}: ${error.message}`);
  else if (error instanceof SyntaxError) console.error(`${file}: not valid JSON: ${error.message}`);
  else console.error(`${file}: ${(error as Error).message}`);
  console.error('Nothing was written.');
  process.exit(1);
}

const { dynamoClient, tableName } = await import('../shared/store/client.js');
const { ensureTable } = await import('../shared/store/table.js');
const { writeSeed } = await import('../shared/store/seed-writer.js');

if (typeof endpoint === 'string') await ensureTable(dynamoClient, tableName);
const written = await writeSeed(seed);
console.log(
  `Loaded ${file} into ${tableName}${typeof endpoint === 'string' ? ` at ${endpoint}` : ''}: ` +
    `${seed.connections.length} connections, ${seed.accounts.length} accounts, ${seed.users.length} users (${written} items).`,
);
