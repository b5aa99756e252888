/**
 * Runs a local emulator (DynamoDB Local, moto_server) as a child process on a free port, for
 * `npm start`, the tests and the bench: ready once it answers HTTP, killed when this process exits.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export type ChildServer = { endpoint: string; port: number; stop: () => Promise<void> };

export type ChildServerOptions = {
  /** How messages name the server, e.g. `DynamoDB Local`. */
  name: string;
  command: string;
  args: (port: number) => string[];
  /** The error to throw when `command` is not installed. */
  missing: () => Error;
  port?: number;
  cwd?: string;
  /** A path that answers once the server is up; any HTTP status will do. */
  readyPath?: string;
  timeoutMs?: number;
};

const STDERR_TAIL = 4000;
const STOP_GRACE_MS = 3000;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Reads the PATH instead of running the command: no Python or JVM start-up, no blocked event loop. */
function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answersHttp(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(500) });
    return true;
  } catch {
    return false;
  }
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const { name, command, readyPath = '/', timeoutMs = 20_000 } = options;
  if (!onPath(command)) throw options.missing();
  const port = options.port ?? (await freePort());
  const child = spawn(command, options.args(port), { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL)));
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function stop(): Promise<void> {
    process.off('exit', killOnExit);
    if (!running()) return;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(STOP_GRACE_MS)]);
    if (running()) child.kill('SIGKILL');
    await exited;
  }
  const failed = (error: Error) => {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    return error;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // ENOENT: gone from the PATH since the check; 127: a pyenv/asdf shim whose active version lacks the command.
    if (spawnError?.code === 'ENOENT' || child.exitCode === 127) throw failed(options.missing());
    if (spawnError) throw failed(spawnError);
    if (!running()) throw failed(new Error(`${name} exited with code ${child.exitCode ?? child.signalCode}\n${stderr}`));
    if (await answersHttp(`${endpoint}${readyPath}`)) return { endpoint, port, stop };
    await sleep(50);
  }
  throw failed(new Error(`${name} did not start within ${timeoutMs} ms\n${stderr}`));
}
