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
