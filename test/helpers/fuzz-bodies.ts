/**
 * fast-check arbitraries for fuzzing the HTTP entry points (issue 12, part 3): request bodies
 * that start from a valid delivery and are mutated (wrong types, missing and extra fields, arrays
 * where objects go, huge strings, deep nesting), random JSON and text, raw bytes with invalid
 * UTF-8, base64 bodies, and the header spellings API Gateway (payload 2.0) can hand over.
 */
import fc from 'fast-check';

/** A body as API Gateway hands it to Lambda: text, or base64 of the bytes with isBase64Encoded. */
export type WireBody = { body?: string; isBase64Encoded: boolean; label: string };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const deepMarker = (depth: number, asArray: boolean) => `__deep_${depth}_${asArray ? 'array' : 'object'}__`;

/** JSON text nested `depth` times, as an array or an object chain: JSON.parse takes it, recursive code may not. */
export function deeplyNestedText(depth: number, asArray: boolean): string {
  return asArray ? `${'['.repeat(depth)}"bottom"${']'.repeat(depth)}` : `${'{"nested":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;
}

/** JSON.stringify, with the deep markers expanded. */
function jsonText(document: Json): string {
  return JSON.stringify(document).replace(/"__deep_(\d+)_(array|object)__"/g, (_, depth: string, shape: string) => deeplyNestedText(Number(depth), shape === 'array'));
}

/** Values of every JSON type, including ones that are legal but awkward: lone surrogates, NUL, big numbers, long strings. */
const awkwardValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom<Json>('', ' ', '\u0000', '\ud800', '\udfff\ud800', '%', '%E0%A4%A', '\\', '"', 'null', 'true', '2099-01-01T00:00:00Z', 'not-a-date', '💥'.repeat(80), -0, 1e308, -1, 0, [], {}, [null], { '': null }),
  fc.integer({ min: 200, max: 5_000 }).map((length) => 'x'.repeat(length)),
  fc.integer({ min: 200, max: 2_000 }).map((length) => 'ü'.repeat(length)),
);

type Mutation = { at: number; kind: 'delete' | 'replace' | 'extra' | 'wrap-in-array' | 'deep' | 'huge' | 'proto'; value: Json; depth: number; size: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'replace', 'replace', 'extra', 'wrap-in-array', 'deep', 'huge', 'proto'),
  value: awkwardValue,
  depth: fc.integer({ min: 50, max: 20_000 }),
  size: fc.integer({ min: 10_000, max: 400_000 }),
});

type Slot = { parent: Record<string, Json> | Json[]; key: string | number };

/** Every place a value sits in a JSON document (object members and array items), depth first. */
function slotsOf(value: Json, into: Slot[] = []): Slot[] {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      into.push({ parent: value, key: index });
      slotsOf(item, into);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      into.push({ parent: value, key });
      slotsOf(item, into);
    }
  }
  return into;
}

function apply(document: Json, mutation: Mutation): Json {
  // A copy of the value: fc.constantFrom hands out the same `{}` and `[]` every time, so two
  // mutations of one case could insert one object into itself (a cycle), and a case could change
  // the constant for the cases after it.
  const change = { ...mutation, value: structuredClone(mutation.value) };
  const slots = slotsOf(document);
  const slot = slots[change.at % Math.max(slots.length, 1)];
  if (!slot) return change.kind === 'delete' ? {} : change.value;
  const parent = slot.parent as Record<string | number, Json>;
  const current = parent[slot.key] as Json;
  switch (change.kind) {
    case 'delete':
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete parent[slot.key];
      break;
    case 'replace':
      parent[slot.key] = change.value;
      break;
    case 'extra':
      if (current && typeof current === 'object' && !Array.isArray(current)) current[`extra${change.at % 7}`] = change.value;
      else if (Array.isArray(current)) current.push(change.value);
      else parent[`${String(slot.key)}Extra`] = change.value;
      break;
    case 'wrap-in-array':
      parent[slot.key] = [current];
      break;
    case 'deep':
      // A marker, expanded when the document becomes text: walking or stringifying a deep value would overflow here first.
      parent[slot.key] = deepMarker(change.depth, change.at % 2 === 0);
      break;
    case 'huge':
      parent[slot.key] = 'h'.repeat(change.size);
      break;
    case 'proto':
      // JSON.parse makes "__proto__" an own member; a careless merge would not.
      if (current && typeof current === 'object' && !Array.isArray(current)) {
        Object.defineProperty(current, '__proto__', { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
      }
      break;
  }
  return document;
}

/** A valid document with 1 to 4 mutations applied (a fresh copy per case). */
export function mutated(valid: () => Json): fc.Arbitrary<{ document: Json; mutations: Mutation[] }> {
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => ({ mutations, document: mutations.reduce(apply, structuredClone(valid())) }));
}

const asText = (document: Json, label: string): WireBody => ({ body: jsonText(document), isBase64Encoded: false, label });
const asBase64 = (bytes: Uint8Array | Buffer, label: string): WireBody => ({ body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true, label });

/** Bytes that are not UTF-8: a lone continuation byte, a cut sequence, overlongs, a surrogate encoded in UTF-8, 0xFF. */
const INVALID_UTF8 = [[0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xfe, 0xff]].map((bytes) => Buffer.from(bytes));

/**
 * Bodies for an endpoint whose valid request is `valid()`: mutations of it (as text or base64),
 * the valid one with invalid UTF-8 bytes spliced into a string, random JSON, random text, random
 * bytes, empty and absent bodies, deep nesting, and bodies over the size limit.
 */
export function fuzzedBodies(valid: () => Json, options: { limitBytes: number }): fc.Arbitrary<WireBody> {
  return fc.oneof(
    { weight: 6, arbitrary: mutated(valid).map(({ document, mutations }) => asText(document, `mutated: ${mutations.map((m) => m.kind).join(',')}`)) },
    { weight: 1, arbitrary: mutated(valid).map(({ document }) => asBase64(Buffer.from(jsonText(document), 'utf8'), 'mutated, base64')) },
    { weight: 1, arbitrary: fc.constant(null).map(() => asBase64(Buffer.from(JSON.stringify(valid()), 'utf8'), 'valid, base64')) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8)).map(([at, bad]) => {
        const text = Buffer.from(JSON.stringify(valid()), 'utf8');
        // Inside a string value: right after a quote that opens one.
        const quotes = [...text.entries()].filter(([, byte]) => byte === 0x22).map(([index]) => index);
        const cut = (quotes[at % quotes.length] ?? 0) + 1;
        return asBase64(Buffer.concat([text.subarray(0, cut), bad, text.subarray(cut)]), 'invalid UTF-8 inside a string');
      }),
    },
    { weight: 2, arbitrary: (fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>).map((document) => asText(document, 'random JSON')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ body: text, isBase64Encoded: false, label: 'random text' })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => asBase64(bytes, 'random bytes')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((text) => ({ body: text, isBase64Encoded: true, label: 'not base64 at all' })) },
    { weight: 1, arbitrary: fc.constantFrom<WireBody>({ body: '', isBase64Encoded: false, label: 'empty' }, { isBase64Encoded: false, label: 'absent' }, { body: '', isBase64Encoded: true, label: 'empty base64' }, { body: 'null', isBase64Encoded: false, label: 'null' }, { body: '\ufeff{}', isBase64Encoded: false, label: 'BOM' }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.boolean()).map(([depth, asArray]) => ({ body: deeplyNestedText(depth, asArray), isBase64Encoded: false, label: `nested ${depth}` })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 4096 }).map((extra) => ({ body: `"${'o'.repeat(options.limitBytes + extra)}"`, isBase64Encoded: false, label: 'over the limit' })),
    },
  );
}

/** A header name spelled as a client might: API Gateway lowercases them, other callers may not. */
export function spelledHeaderName(name: string): fc.Arbitrary<string> {
  return fc.constantFrom(name, name.toUpperCase(), name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase()));
}

/** Content types, right and wrong: absent, other types, odd charsets, a repeated header joined by a comma. */
export const contentTypes: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON; CHARSET=UTF-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json,application/json',
  'application/json, text/plain',
  '',
);

/** Extra headers that should change nothing: repeats joined by commas, odd encodings, long values. */
export const noiseHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom('x-forwarded-for', 'content-encoding', 'transfer-encoding', 'accept', 'user-agent', 'x-amzn-trace-id', 'content-length', 'Content-Length'),
  fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('gzip', 'chunked', 'a,b', '1,2', '-1', 'x'.repeat(8_000))),
  { maxKeys: 3 },
);
