/** Creates the bench table and seeds its directory. Import after the env is set. */
import { dynamoClient, tableName } from '../../shared/store/client.js';
import { ensureTable } from '../../shared/store/table.js';
import { parseSeed } from '../../shared/domain/seed.js';
import { writeSeed } from '../../shared/store/seed-writer.js';
import { benchSeed, benchUserEmail } from './seed-data.js';

// writeSeed writes its batches one after another; a few seeds in parallel load faster.
const SEED_WRITERS = 4;

/** Returns the table's stream ARN and the seeded users' emails. */
export async function prepareTable(userCount: number): Promise<{ streamArn: string; emails: string[]; items: number }> {
  const streamArn = await ensureTable(dynamoClient, tableName);
  const emails = Array.from({ length: userCount }, (_, index) => benchUserEmail(index));
  const chunkSize = Math.ceil(emails.length / SEED_WRITERS);
  const chunks = Array.from({ length: SEED_WRITERS }, (_, index) => emails.slice(index * chunkSize, (index + 1) * chunkSize));
  const written = await Promise.all(chunks.map((chunk) => writeSeed(parseSeed(benchSeed(chunk)))));
  return { streamArn, emails, items: written.reduce((total, count) => total + count, 0) };
}
