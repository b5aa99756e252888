/**
 * Okta deliveries built from the shared fixtures (test/helpers/fixtures.ts) and sent to the real
 * okta-hook handler in-process, as API Gateway HTTP API v2 events. Import after the env is set.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler as oktaHook } from '../../functions/okta-hook.js';
import { lambdaContext } from '../lib/local-stream.js';
import { httpApiEvent, oktaDelivery, oktaLogEvent, withGroup, withUser, type OktaLogEvent } from '../../test/helpers/fixtures.js';
import { inPhase } from './calls.js';
import { CONNECTION_ID, HOOK_SECRET } from './seed-data.js';

const REMOVAL_FIXTURE = 'okta-group-membership-remove.json';

/** A group removal as the fixture has it, with a fresh uuid and published=now; optionally another user and group. */
export function removalEvent(target?: { email: string; group: string }): OktaLogEvent {
  const event = oktaLogEvent(REMOVAL_FIXTURE);
  return target ? withGroup(withUser(event, target.email), target.group) : event;
}

export type HookRequest = { event: APIGatewayProxyEventV2; eventIds: string[] };

/** The request Okta would send for these events, authenticated with the bench connection's secret. */
export function deliveryRequest(events: OktaLogEvent[]): HookRequest {
  const event = httpApiEvent({
    method: 'POST',
    connectionId: CONNECTION_ID,
    headers: { accept: 'application/json', 'content-type': 'application/json', authorization: HOOK_SECRET },
    body: JSON.stringify(oktaDelivery(events)),
  });
  return { event, eventIds: events.map((logEvent) => logEvent.uuid) };
}

/** Calls the handler and returns how long it took to answer; anything but a 200 is an error. */
export async function timedAck(request: HookRequest): Promise<number> {
  const context = lambdaContext('okta-hook');
  const started = performance.now();
  const response = (await inPhase('ack', () => oktaHook(request.event, context))) as APIGatewayProxyStructuredResultV2;
  const elapsed = performance.now() - started;
  if (response.statusCode !== 200) {
    throw new Error(`okta-hook answered ${response.statusCode}: ${String(response.body).slice(0, 300)}`);
  }
  return elapsed;
}
