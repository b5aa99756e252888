/**
 * Bundles each function of serverless.yml the way serverless-esbuild does (custom.esbuild,
 * without the source map) and times a cold `import` of each bundle in fresh node processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { parse } from 'yaml';
import { median, round2 } from './stats.js';

const execFileAsync = promisify(execFile);
const COLD_IMPORT_RUNS = 5;

type EsbuildCustom = {
  bundle: boolean;
  minify: boolean;
  format: 'esm' | 'cjs';
  target: string;
  platform: 'node';
  mainFields: string[];
  banner?: { js?: string };
  outputFileExtension?: string;
};

type FunctionEntry = { name: string; entry: string };

export type FunctionMeasure = {
  bundleBytes: number;
  coldImportMs: number;
  coldImportSamplesMs: number[];
  containsOktaSdk: boolean;
  /** Packages by bytes in the minified output, largest first: what the bundle size is made of. */
  largestInputs: Record<string, number>;
};

function serverlessConfig(root: string): { functions: FunctionEntry[]; esbuild: EsbuildCustom } {
  const doc = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as {
    custom: { esbuild: EsbuildCustom };
    functions: Record<string, { handler: string }>;
  };
  const functions = Object.entries(doc.functions).map(([name, { handler }]) => {
    // "functions/okta-hook.handler" → functions/okta-hook.ts
    const entry = join(root, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`);
    if (!existsSync(entry)) throw new Error(`serverless.yml function ${name}: ${entry} not found`);
    return { name, entry };
  });
  return { functions, esbuild: doc.custom.esbuild };
}

function packageOf(inputPath: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(inputPath);
  return match?.[1] ?? '(project)';
}

function largestInputs(metafile: Metafile, top = 6): Record<string, number> {
  // One entry point, no splitting: the only output is the bundle.
  const output = Object.values(metafile.outputs)[0];
  const bytes = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    bytes.set(packageOf(path), (bytes.get(packageOf(path)) ?? 0) + bytesInOutput);
  }
  return Object.fromEntries([...bytes].sort((a, b) => b[1] - a[1]).slice(0, top));
}

async function bundle(fn: FunctionEntry, options: EsbuildCustom, outDir: string) {
  const outfile = join(outDir, `${fn.name}${options.outputFileExtension ?? '.mjs'}`);
  const result = await build({
    entryPoints: [fn.entry],
    outfile,
    bundle: options.bundle,
    minify: options.minify,
    format: options.format,
    target: options.target,
    platform: options.platform,
    mainFields: options.mainFields,
    banner: options.banner ?? {},
    // serverless.yml has `exclude: []`: nothing is external, the AWS SDK included.
    external: [],
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
  });
  return {
    outfile,
    bytes: statSync(outfile).size,
    containsOktaSdk: readFileSync(outfile, 'utf8').includes('okta-sdk-nodejs'),
    largestInputs: largestInputs(result.metafile),
  };
}

/** Env a Lambda would have at import: config() runs at module scope and needs TABLE_NAME. */
function lambdaLikeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TABLE_NAME: 'sso-sync-bench',
    // serverless.yml sets this (the HTTP API's URL) for the Graph subscription functions.
    HOOKS_BASE_URL: 'https://bench.execute-api.us-east-1.amazonaws.com',
    // serverless.yml sets these (the stack's pool and admin client) for admin-api.
    ADMIN_USER_POOL_ID: 'us-east-1_Bench0001',
    ADMIN_CLIENT_IDS: 'benchadminclient',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // No DynamoDB Local and no loader flags (tsx) in the child: a plain node importing a plain file.
  delete env.DYNAMODB_ENDPOINT;
  delete env.NODE_OPTIONS;
  return env;
}

const IMPORT_TIMER = [
  'const started = performance.now();',
  'await import(process.env.BENCH_IMPORT_URL);',
  'process.stdout.write(JSON.stringify({ importMs: performance.now() - started }));',
].join('\n');

async function coldImportOnce(file: string): Promise<number> {
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', IMPORT_TIMER], {
    env: { ...lambdaLikeEnv(), BENCH_IMPORT_URL: pathToFileURL(file).href },
    timeout: 30_000,
  });
  const { importMs } = JSON.parse(stdout) as { importMs: number };
  if (!Number.isFinite(importMs)) throw new Error(`cold import of ${file} printed ${stdout}`);
  return importMs;
}

export async function measureFunctions(root: string, log: (message: string) => void): Promise<Record<string, FunctionMeasure>> {
  const { functions, esbuild } = serverlessConfig(root);
  const outDir = mkdtempSync(join(tmpdir(), 'sso-sync-bench-bundles-'));
  try {
    const measures: Record<string, FunctionMeasure> = {};
    for (const fn of functions) {
      log(`bundling ${fn.name}`);
      const built = await bundle(fn, esbuild, outDir);
      const samples: number[] = [];
      for (let run = 0; run < COLD_IMPORT_RUNS; run++) samples.push(await coldImportOnce(built.outfile));
      measures[fn.name] = {
        bundleBytes: built.bytes,
        coldImportMs: round2(median(samples)),
        coldImportSamplesMs: samples.map(round2),
        containsOktaSdk: built.containsOktaSdk,
        largestInputs: built.largestInputs,
      };
    }
    return measures;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
