/**
 * Graph change notifications built from the shared fixture (graph-user-deleted.json) and sent to
 * the real graph-hook handler in-process, as API Gateway HTTP API v2 events. Import after the env is set.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler as graphHook } from '../../functions/graph-hook.js';
import { lambdaContext } from '../lib/local-stream.js';
import { fixture, httpApiEvent } from '../../test/helpers/fixtures.js';
import { inPhase } from './calls.js';
import { GRAPH_CLIENT_STATE, GRAPH_CONNECTION_ID, GRAPH_SUBSCRIPTION_ID, GRAPH_TENANT_ID } from './seed-data.js';

type Notification = { resource: string; resourceData: Record<string, unknown>; [field: string]: unknown };
const template = fixture<{ body: { value: Notification[] } }>('graph-user-deleted.json').body.value[0] as Notification;

/** A user deletion about a fresh object id, signed for the bench connection: each one is a new inbox item. */
function deletion(): Notification {
  const objectId = crypto.randomUUID();
  return {
    ...structuredClone(template),
    clientState: GRAPH_CLIENT_STATE,
    subscriptionId: GRAPH_SUBSCRIPTION_ID,
    tenantId: GRAPH_TENANT_ID,
    resource: `Users/${objectId}`,
    resourceData: { ...template.resourceData, id: objectId, '@odata.id': `Users/${objectId}`, organizationId: GRAPH_TENANT_ID },
  };
}

/** Posts `count` notifications in one delivery and returns how long the handler took to answer; anything but 202 is an error. */
export async function timedGraphAck(count: number): Promise<number> {
  const event = httpApiEvent({
    method: 'POST',
    connectionId: GRAPH_CONNECTION_ID,
    route: '/hooks/graph/{connectionId}',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ value: Array.from({ length: count }, deletion) }),
  });
  const context = lambdaContext('graph-hook');
  const started = performance.now();
  const response = (await inPhase('ack', () => graphHook(event, context))) as APIGatewayProxyStructuredResultV2;
  const elapsed = performance.now() - started;
  if (response.statusCode !== 202) throw new Error(`graph-hook answered ${response.statusCode}: ${String(response.body).slice(0, 300)}`);
  return elapsed;
}
