/**
 * Starts moto_server (a Python AWS emulator installed on the machine, not from npm) on a free
 * port: Cognito user pools, groups and sign-out for the tests of the sign-in triggers. Ready in
 * about 0.3 s.
 */
import { startChildServer, type ChildServer } from './child-server.js';

export type MotoServer = ChildServer;

export class MotoMissingError extends Error {
  override name = 'MotoMissingError';
  constructor() {
    super("moto_server was not found on the PATH, or does not run. The Cognito tests need it: pip install 'moto[server]'");
  }
}

export function startMotoServer(options: { port?: number } = {}): Promise<MotoServer> {
  return startChildServer({
    name: 'moto_server',
    command: 'moto_server',
    args: (port) => ['-H', '127.0.0.1', '-p', String(port)],
    missing: () => new MotoMissingError(),
    port: options.port,
    readyPath: '/moto-api/',
  });
}
