/**
 * Starts moto_server (a Python AWS emulator installed on the machine, not from npm) on a free
 * port: Cognito user pools, groups and sign-out for the tests of the sign-in triggers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { freePort } from './dynamodb-local.js';

export type MotoServer = { endpoint: string; stop: () => Promise<void> };

export class MotoMissingError extends Error {
  override name = 'MotoMissingError';
  constructor() {
    super("moto_server was not found on the PATH. The Cognito tests need it: pip install 'moto[server]'");
  }
}

export async function startMotoServer(): Promise<MotoServer> {
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).error) throw new MotoMissingError();
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    try {
      await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(500) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error('moto_server did not start within 20 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    endpoint,
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
