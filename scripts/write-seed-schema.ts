/** Writes seed/seed.schema.json from the zod schema; `--check` fails when the committed file is out of date. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seedJsonSchema } from '../shared/domain/seed.js';

export const SEED_SCHEMA_FILE = fileURLToPath(new URL('../seed/seed.schema.json', import.meta.url));

export function seedSchemaText(): string {
  return `${JSON.stringify({ title: 'sso-sync seed file', ...(seedJsonSchema() as object) }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = seedSchemaText();
  if (process.argv.includes('--check')) {
    if (readFileSync(SEED_SCHEMA_FILE, 'utf8') !== wanted) {
      console.error('seed/seed.schema.json is out of date: run `npm run schema`');
      process.exit(1);
    }
  } else {
    writeFileSync(SEED_SCHEMA_FILE, wanted);
    console.log(`wrote ${SEED_SCHEMA_FILE}`);
  }
}
