/**
 * Node reads NODE_EXTRA_CA_CERTS once, when a process starts. Processes that talk to the local
 * fake Graph (HTTPS with a test-only certificate) are started with a bundle of the CAs already
 * named there (some machines point it at the system store) plus the fake's certificate.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAKE_GRAPH_CERT_PATH } from './fake-graph.js';

/** Writes the bundle (once per content) and returns its path, for NODE_EXTRA_CA_CERTS of a child process. */
export function extraCaBundleWithFakeGraph(existing = process.env.NODE_EXTRA_CA_CERTS): string {
  const fakeCert = readFileSync(FAKE_GRAPH_CERT_PATH, 'utf8');
  let current = '';
  try {
    current = existing ? readFileSync(existing, 'utf8') : '';
  } catch {
    // A dangling NODE_EXTRA_CA_CERTS is only a warning to Node; keep the fake's certificate at least.
  }
  if (current.includes(fakeCert.trim())) return existing as string;
  const directory = join(tmpdir(), 'sso-sync');
  mkdirSync(directory, { recursive: true });
  const bundle = join(directory, `extra-ca-${process.getuid?.() ?? 'user'}.pem`);
  writeFileSync(bundle, `${current.trimEnd()}\n${fakeCert}`);
  return bundle;
}

function trustsFakeGraph(): boolean {
  try {
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    return extra !== undefined && readFileSync(extra, 'utf8').includes(readFileSync(FAKE_GRAPH_CERT_PATH, 'utf8').trim());
  } catch {
    return false;
  }
}

/**
 * For a script that talks to the local fake Graph in-process: unless this process already trusts
 * the fake's certificate, runs the same script again in a child that does (same Node flags, same
 * arguments), waits for it and exits with its code. Returns only in the process that trusts it.
 * Ctrl-C reaches both (one process group); the parent leaves the cleaning up to the child.
 */
export async function relaunchTrustingFakeGraph(): Promise<void> {
  if (trustsFakeGraph()) return;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: extraCaBundleWithFakeGraph() },
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A terminal's Ctrl-C already reached the child; a `kill <pid>` did not.
      if (signal === 'SIGTERM') child.kill(signal);
    });
  }
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1))));
  process.exit(code);
}
