/**
 * Issue 12, part 3: fuzzing the webhooks (Okta GET and POST, Graph change and lifecycle
 * notifications) with fast-check, straight through the real handlers with API Gateway v2 events.
 * Bodies are valid deliveries mutated (wrong types, missing and extra fields, huge strings, deep
 * nesting, arrays where objects go), random JSON, text and bytes (invalid UTF-8), base64 bodies,
 * empty ones and ones over the limit; headers come in every case, repeated and with odd charsets.
 * Credentials themselves are forged-requests.test.ts's subject; here they are right or simply wrong.
 *
 * What the product promises, and each property checks:
 * - never a 5xx, unless a storage fault is injected (then 5xx and nothing stored);
 * - a request that is not authenticated (unknown connection, wrong secret, no notification with a
 *   known subscription's clientState) is refused (401/404; 413 for a body over the limit, which is
 *   refused before anything else is read) and stores nothing;
 * - an authenticated Okta delivery that is not a delivery (shape, JSON, UTF-8) is a 400 and stores
 *   nothing; a well-formed one is a 200 and stores only inbox items of its connection, of the
 *   acted-on event types, an event over a bound (OKTA_BOUNDS) stored with its `invalidReason`;
 * - a Graph delivery stores only notifications that passed every check (a 202), else 400 when
 *   none was well-formed, 401 when none could be verified, and nothing is stored.
 * "Stores nothing" is checked by recording every DynamoDB write the handler makes (test/helpers/
 * write-watch.ts): a refused request made none; what an accepted one wrote is read back key by key;
 * the whole table is compared with what the recorded writes explain every 500 cases and after each property.
 * `FUZZ_RUNS=2000 npx vitest run test/integration/fuzz-webhooks.test.ts` makes more runs; `npm run fuzz`
 * makes 10,000 cases per route (Okta GET, Okta POST, Graph change and lifecycle notifications).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as oktaHook } from '../../functions/okta-hook.js';
import { handler as graphHook, lifecycleHandler } from '../../functions/graph-hook.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { config } from '../../shared/config.js';
import { OKTA_BOUNDS } from '../../shared/domain/okta-events.js';
import { createSeededTable, GRAPH_CLIENT_STATE, SECRET_A1 } from '../helpers/stack.js';
import { fixture, httpApiEvent, oktaDelivery, oktaLogEvent, withGroup, withUser } from '../helpers/fixtures.js';
import { about, graphNotification, lifecycleNotification } from '../helpers/graph.js';
import { countCase, fuzzRuns, reportFuzzTally } from '../helpers/fuzz.js';
import { WriteWatch } from '../helpers/write-watch.js';
import { clearFaults, failNext } from '../helpers/faults.js';
import { contentTypes, fuzzedBodies, noiseHeaders, spelledHeaderName, type WireBody } from '../helpers/fuzz-bodies.js';
import { answerOf, failOnUnhandledRejections, fuzzTimeout } from '../helpers/fuzz-http.js';

const { maxWebhookBodyBytes, oktaEventTypes } = config();
const STORE_COMMANDS = ['PutCommand', 'PutItemCommand', 'TransactWriteCommand', 'TransactWriteItemsCommand'];

let watch: WriteWatch;
beforeAll(async () => {
  await createSeededTable();
  watch = await WriteWatch.start();
});
failOnUnhandledRejections();
reportFuzzTally('fuzz-webhooks');

const okta = (input: { method: 'GET' | 'POST'; connectionId?: string; headers: Record<string, string>; body: WireBody }) =>
  answerOf(() =>
    oktaHook(
      httpApiEvent({ method: input.method, connectionId: input.connectionId ?? 'okta-a', headers: input.headers, body: input.body.body, isBase64Encoded: input.body.isBase64Encoded }),
      lambdaContext('okta-hook'),
    ),
  );

const graph = (input: { lifecycle: boolean; connectionId?: string; headers: Record<string, string>; body: WireBody; rawQueryString?: string }) =>
  answerOf(() =>
    (input.lifecycle ? lifecycleHandler : graphHook)(
      httpApiEvent({
        method: 'POST',
        connectionId: input.connectionId ?? 'entra-a',
        route: input.lifecycle ? '/hooks/graph/{connectionId}/lifecycle' : '/hooks/graph/{connectionId}',
        headers: input.headers,
        rawQueryString: input.rawQueryString,
        body: input.body.body,
        isBase64Encoded: input.body.isBase64Encoded,
      }),
      lambdaContext(input.lifecycle ? 'graph-lifecycle' : 'graph-hook'),
    ),
  );

/** Headers around a credential: the content type (or none), noise, and the credential's header spelled in any case. */
const headersWith = (credential: fc.Arbitrary<Record<string, string>>) =>
  fc.tuple(credential, contentTypes, noiseHeaders).map(([secret, contentType, noise]) => ({ ...noise, ...(contentType === undefined ? {} : { 'content-type': contentType }), ...secret }));

const oktaCredential = spelledHeaderName('authorization').map((name) => ({ [name]: SECRET_A1 }));

/** A delivery of one to three events of types okta-a acts on (or not), about seeded people or strangers. */
function validOktaDelivery() {
  const events = [
    withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), 'alex.doe@example.com'), 'Finance-Approvers'),
    withUser(oktaLogEvent('okta-user-deactivate.json'), `stranger-${crypto.randomUUID()}@example.com`),
    { ...oktaLogEvent('okta-user-deactivate.json'), eventType: 'user.session.start' },
  ];
  return oktaDelivery(events.slice(0, 1 + Math.floor(Math.random() * 3))) as never;
}

/** What a 200 may have stored: only pending inbox items of okta-a, of acted-on types, one per event at most. */
function expectOnlyOktaInboxItems(added: Record<string, unknown>[], sent: WireBody): void {
  for (const item of added) {
    expect(item).toMatchObject({ entity: 'InboxEvent', connectionId: 'okta-a', source: 'okta', status: 'pending' });
    expect(oktaEventTypes.has(String(item.eventType))).toBe(true);
    // No stored value is over its bound (OKTA_BOUNDS): an over-long one is stored as null.
    const targets = item.targets as Record<string, string | null>[];
    expect(targets.length).toBeLessThanOrEqual(OKTA_BOUNDS.targetsPerEvent);
    for (const target of targets) {
      expect(target.alternateId?.length ?? 0).toBeLessThanOrEqual(OKTA_BOUNDS.alternateIdLength);
      expect(target.displayName?.length ?? 0).toBeLessThanOrEqual(OKTA_BOUNDS.displayNameLength);
      expect(target.id?.length ?? 0).toBeLessThanOrEqual(OKTA_BOUNDS.targetIdLength);
      expect(target.type?.length ?? 0).toBeLessThanOrEqual(OKTA_BOUNDS.targetTypeLength);
    }
    expect(String(item.eventId).length).toBeLessThanOrEqual(OKTA_BOUNDS.uuidLength);
  }
  const text = Buffer.from(sent.body ?? '', sent.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
  const events = (JSON.parse(text) as { data: { events: SentEvent[] } }).data.events;
  expect(added.length).toBeLessThanOrEqual(events.length);
  // An event over a bound is stored marked invalid, with its reason; one within every bound is not.
  for (const item of added) {
    const sentEvent = events.find((event) => event.uuid === item.eventId);
    if (!sentEvent) continue; // a uuid over its bound is keyed by its hash
    expect(Boolean(item.invalidReason), `invalidReason of ${String(item.eventId)}: ${String(item.invalidReason)}`).toBe(overABound(sentEvent));
  }
}

type SentEvent = { uuid?: unknown; outcome?: { result?: unknown } | null; target?: Record<string, unknown>[] | null };

/** The bounds of docs/architecture.md ("Bounds"), read from the event as sent. */
function overABound(event: SentEvent): boolean {
  const longer = (value: unknown, max: number) => typeof value === 'string' && value.length > max;
  const targets = event.target ?? [];
  return (
    longer(event.uuid, OKTA_BOUNDS.uuidLength) ||
    longer(event.outcome?.result, OKTA_BOUNDS.outcomeResultLength) ||
    targets.length > OKTA_BOUNDS.targetsPerEvent ||
    targets.some(
      (target) =>
        longer(target.alternateId, OKTA_BOUNDS.alternateIdLength) ||
        longer(target.displayName, OKTA_BOUNDS.displayNameLength) ||
        longer(target.id, OKTA_BOUNDS.targetIdLength) ||
        longer(target.type, OKTA_BOUNDS.targetTypeLength),
    )
  );
}

describe('Okta event hook, fuzzed', () => {
  // Full run (npm run fuzz): POST = 6,000 authenticated + 4,000 unauthenticated + 100 storage faults; GET = 4,000 unauthenticated + 6,000 verifications.
  it('an authenticated POST: 200 and only valid inbox items, or 400/413 and nothing stored; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedBodies(validOktaDelivery, { limitBytes: maxWebhookBodyBytes }), headersWith(oktaCredential), async (body, headers) => {
        countCase('okta hook POST');
        const { result: answer, added, changed, writes } = await watch.around(() => okta({ method: 'POST', headers, body }));
        expect([200, 400, 413], `${body.label}: ${answer.body}`).toContain(answer.statusCode);
        expect(changed, 'a delivery never changes what is stored').toEqual([]);
        if (answer.statusCode === 200) expectOnlyOktaInboxItems(added, body);
        else expect(writes, `${body.label}: refused, so nothing written`).toEqual([]);
      }),
      { numRuns: fuzzRuns(60, 6_000) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(60, 6_000)));

  it.each(['GET', 'POST'] as const)('an unauthenticated %s (wrong or no secret, unknown connection): 401/404 (413 over the limit), nothing stored', async (method) => {
    const credential = fc.oneof(
      fc.constant({}),
      fc.tuple(spelledHeaderName('authorization'), fc.string({ maxLength: 80 })).map(([name, value]) => ({ [name]: value })),
    );
    const connectionId = fc.oneof(fc.constant('okta-a'), fc.constant('entra-a'), fc.constant('no-such-connection'), fc.string({ maxLength: 40 }));
    await fc.assert(
      fc.asyncProperty(fuzzedBodies(validOktaDelivery, { limitBytes: maxWebhookBodyBytes }), headersWith(credential), connectionId, async (body, headers, id) => {
        countCase(`okta hook ${method}`);
        const { result: answer, writes } = await watch.around(() => okta({ method, connectionId: id, headers, body }));
        expect([401, 404, 413], `${method} ${body.label}: ${answer.body}`).toContain(answer.statusCode);
        expect(writes).toEqual([]);
      }),
      { numRuns: fuzzRuns(20, 4_000) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(20, 4_000)));

  it("an authenticated verification GET echoes exactly the challenge, whatever it and the body are, and stores nothing", async () => {
    const challenge = fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.constantFrom('', ' ', 'a,b', fixture('okta-verify.json').headers['x-okta-verification-challenge'] as string));
    await fc.assert(
      fc.asyncProperty(fuzzedBodies(validOktaDelivery, { limitBytes: maxWebhookBodyBytes }), headersWith(oktaCredential), fc.option(challenge, { nil: undefined }), spelledHeaderName('x-okta-verification-challenge'), async (body, headers, value, name) => {
        countCase('okta hook GET');
        const { result: answer, writes } = await watch.around(() => okta({ method: 'GET', headers: { ...headers, ...(value === undefined ? {} : { [name]: value }) }, body }));
        expect([200, 400, 413]).toContain(answer.statusCode);
        if (answer.statusCode === 200) expect(JSON.parse(answer.body ?? '')).toEqual({ verification: value });
        if (answer.statusCode === 400) expect(value ?? '').toBe('');
        expect(writes).toEqual([]);
      }),
      { numRuns: fuzzRuns(30, 6_000) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(30, 6_000)));

  it('a storage fault on a valid delivery is a 500 (Okta retries) and leaves nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(headersWith(oktaCredential), async (headers) => {
        countCase('okta hook POST');
        const delivery = oktaDelivery([withUser(oktaLogEvent('okta-user-deactivate.json'), `fault-${crypto.randomUUID()}@example.com`)]);
        failNext(STORE_COMMANDS, 1);
        try {
          const { result: answer, writes } = await watch.around(() => okta({ method: 'POST', headers, body: { body: JSON.stringify(delivery), isBase64Encoded: false, label: 'valid' } }));
          expect(answer.statusCode).toBe(500);
          expect(answer.body).not.toContain('injected');
          expect(writes).toEqual([]);
        } finally {
          clearFaults();
        }
      }),
      { numRuns: fuzzRuns(5, 100) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(5, 100)));
});

const USER_ID = () => `00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
const validChange = () => {
  const kinds = ['graph-user-updated.json', 'graph-user-deleted.json', 'graph-group-member-removed.json'];
  const notification = graphNotification(kinds[Math.floor(Math.random() * kinds.length)] ?? 'graph-user-updated.json');
  return { value: [notification.resource.toLowerCase().startsWith('users') ? about(notification, USER_ID()) : notification] } as never;
};
const validLifecycle = () => {
  const kinds = ['graph-lifecycle-missed.json', 'graph-lifecycle-reauthorization.json', 'graph-lifecycle-subscription-removed.json'];
  return { value: [lifecycleNotification(kinds[Math.floor(Math.random() * kinds.length)] ?? 'graph-lifecycle-missed.json')] } as never;
};

/** Whether an item is an inbox item of entra-a's Graph notifications: a Graph delivery may add or re-arm those, and nothing else. */
const inEntraInbox = (item: Record<string, unknown> | undefined) => item?.entity === 'InboxEvent' && item.connectionId === 'entra-a' && item.source === 'graph';

describe.each([
  { route: 'change notifications', lifecycle: false, valid: validChange },
  { route: 'lifecycle notifications', lifecycle: true, valid: validLifecycle },
])('Graph $route, fuzzed', ({ route, lifecycle, valid }) => {
  const headers = headersWith(fc.constant({}));
  const tallied = `graph hook ${route}`;
  // Full run (npm run fuzz): 5,000 + 3,000 + 2,000 = 10,000 per route.

  it('202 stores only entra-a inbox items; 400/401/413 store nothing; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedBodies(valid, { limitBytes: maxWebhookBodyBytes }), headers, async (body, sentHeaders) => {
        countCase(tallied);
        const { result: answer, added, changed, writes } = await watch.around(() => graph({ lifecycle, headers: sentHeaders, body }));
        expect([202, 400, 401, 413], `${body.label}: ${answer.body}`).toContain(answer.statusCode);
        if (answer.statusCode === 202) {
          for (const item of added) expect(inEntraInbox(item), `${body.label}: added ${JSON.stringify(item).slice(0, 300)}`).toBe(true);
          for (const { before, after } of changed) expect(inEntraInbox(before) && (after === undefined || inEntraInbox(after)), `${body.label}: changed ${JSON.stringify(before).slice(0, 300)}`).toBe(true);
        } else expect(writes, `${body.label}: refused, so nothing stored`).toEqual([]);
      }),
      { numRuns: fuzzRuns(50, 5_000) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(50, 5_000)));

  it("without a known subscription's clientState, or on another connection, nothing is stored (400/401/404/413)", async () => {
    const wrongClientState = fc.oneof(fc.string({ maxLength: 200 }), fc.constant(GRAPH_CLIENT_STATE.toUpperCase()), fc.constant(`${GRAPH_CLIENT_STATE} `), fc.constant(GRAPH_CLIENT_STATE.slice(1)));
    // Every right clientState in the body replaced by a wrong one, in the text (the body may not even be JSON).
    const forged = fc.tuple(wrongClientState, fuzzedBodies(valid, { limitBytes: maxWebhookBodyBytes })).map(([state, body]): WireBody => {
      const text = Buffer.from(body.body ?? '', body.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
      if (!text.includes(GRAPH_CLIENT_STATE)) return body;
      const wrong = JSON.stringify(state).slice(1, -1);
      return { body: text.split(GRAPH_CLIENT_STATE).join(wrong.includes(GRAPH_CLIENT_STATE) ? 'wrong' : wrong), isBase64Encoded: false, label: `${body.label}, clientState forged` };
    });
    const connectionId = fc.oneof(fc.constant('entra-a'), fc.constant('entra-a'), fc.constant('entra-b'), fc.constant('okta-a'), fc.string({ maxLength: 40 }));
    await fc.assert(
      fc.asyncProperty(forged, headers, connectionId, async (body, sentHeaders, id) => {
        countCase(tallied);
        const { result: answer, writes } = await watch.around(() => graph({ lifecycle, connectionId: id, headers: sentHeaders, body }));
        expect([400, 401, 404, 413], `${id} ${body.label}: ${answer.body}`).toContain(answer.statusCode);
        expect(writes).toEqual([]);
      }),
      { numRuns: fuzzRuns(40, 3_000) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(40, 3_000)));

  it('the validation handshake answers the decoded token as plain text, or 400, whatever else comes; nothing stored', async () => {
    const token = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.constantFrom('', 'a+b', 'a%2Bb', '%', '<script>alert(1)</script>', 'x'.repeat(20_000)));
    const query = fc.tuple(token, fc.constantFrom('', '&validationToken=second', '&other=1', 'first'), fc.boolean()).map(([value, extra, raw]) =>
      extra === 'first' ? `validationToken=first&validationToken=${encodeURIComponent(value)}` : `validationToken=${raw ? value.replace(/[&#]/g, '') : encodeURIComponent(value)}${extra}`,
    );
    await fc.assert(
      fc.asyncProperty(query, fuzzedBodies(valid, { limitBytes: maxWebhookBodyBytes }), headers, async (rawQueryString, body, sentHeaders) => {
        countCase(tallied);
        const { result: answer, writes } = await watch.around(() => graph({ lifecycle, headers: sentHeaders, body, rawQueryString }));
        expect([200, 400, 413], `${rawQueryString.slice(0, 80)}: ${answer.body?.slice(0, 200)}`).toContain(answer.statusCode);
        if (answer.statusCode === 200) {
          expect(answer.body).toBe(new URLSearchParams(rawQueryString).get('validationToken'));
          expect(answer.headers).toMatchObject({ 'content-type': 'text/plain' });
        }
        expect(writes).toEqual([]);
      }),
      { numRuns: fuzzRuns(30, 2_000) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(30, 2_000)));
});
