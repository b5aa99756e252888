/** The IdPs' wire formats, copied into test/fixtures (see its README for the sources). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures');

export type FixtureRequest = {
  method: string;
  headers: Record<string, string>;
  body: unknown;
};

export function fixture<T = FixtureRequest>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8')) as T;
}

export type OktaLogEvent = {
  uuid: string;
  published: string;
  eventType: string;
  outcome: { result: string; reason: string | null } | null;
  target: { id: string; type: string; alternateId: string; displayName: string }[] | null;
  [field: string]: unknown;
};

type OktaDeliveryBody = { eventId: string; data: { events: OktaLogEvent[] }; [field: string]: unknown };

export function oktaDeliveryFixture(name: string): OktaDeliveryBody {
  return fixture(name).body as OktaDeliveryBody;
}

/** The first LogEvent of a fixture delivery, to vary (uuid, time, targets) per test. */
export function oktaLogEvent(name: string, changes: Partial<OktaLogEvent> = {}): OktaLogEvent {
  const event = oktaDeliveryFixture(name).data.events[0];
  if (!event) throw new Error(`${name} has no event`);
  return { ...structuredClone(event), uuid: crypto.randomUUID(), published: new Date().toISOString(), ...changes };
}

/** Wraps LogEvents into a `com.okta.event_hook` envelope, as Okta delivers them. */
export function oktaDelivery(events: OktaLogEvent[]): OktaDeliveryBody {
  const envelope = oktaDeliveryFixture('okta-group-membership-remove.json');
  return { ...envelope, eventId: crypto.randomUUID(), data: { events } };
}

export function withUser(event: OktaLogEvent, email: string): OktaLogEvent {
  return { ...event, target: (event.target ?? []).map((t) => (t.type === 'User' ? { ...t, alternateId: email } : t)) };
}

export function withGroup(event: OktaLogEvent, group: string): OktaLogEvent {
  return { ...event, target: (event.target ?? []).map((t) => (t.type === 'UserGroup' ? { ...t, displayName: group } : t)) };
}

/** An API Gateway HTTP API (payload v2) event, as Lambda receives it behind the route. */
export function httpApiEvent(input: {
  method: 'GET' | 'POST' | 'PUT';
  connectionId: string;
  /** The route, "/hooks/okta/{connectionId}" unless given. */
  route?: string;
  headers?: Record<string, string>;
  /** Percent-encoded, as it arrives; API Gateway also passes it decoded. */
  rawQueryString?: string;
  body?: string;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEventV2 {
  const route = input.route ?? '/hooks/okta/{connectionId}';
  const path = route.replace('{connectionId}', input.connectionId);
  const query = new URLSearchParams(input.rawQueryString ?? '');
  return {
    version: '2.0',
    routeKey: `${input.method} ${route}`,
    rawPath: path,
    rawQueryString: input.rawQueryString ?? '',
    ...(input.rawQueryString ? { queryStringParameters: Object.fromEntries(query) } : {}),
    headers: input.headers ?? {},
    pathParameters: { connectionId: input.connectionId },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: input.method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'sso-sync tests' },
      requestId: crypto.randomUUID(),
      routeKey: `${input.method} ${route}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body: input.body,
    isBase64Encoded: input.isBase64Encoded ?? false,
  };
}
