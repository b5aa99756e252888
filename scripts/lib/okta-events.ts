/**
 * Okta System Log events and event hook deliveries as Okta sends them (the shape of
 * test/fixtures/okta-*.json), for the demo, load and chaos runs.
 */

/** The admin every made-up change is done by. */
const ACTOR = { id: '00u0000000000000ADM1', type: 'User', alternateId: 'okta.admin@example.com', displayName: 'Okta Admin' };

export type OktaLogEventInput = {
  uuid: string;
  published: string;
  eventType: string;
  displayMessage: string;
  user: { id: string; email: string; displayName: string };
  /** For group membership events: the group's id and name (its `displayName`). */
  group?: { id: string; name: string };
};

/** One LogEvent: the same object the System Log lists and the hook delivers. */
export function oktaLogEvent({ uuid, published, eventType, displayMessage, user, group }: OktaLogEventInput) {
  return {
    uuid,
    published,
    eventType,
    version: '0',
    displayMessage,
    severity: 'INFO',
    actor: ACTOR,
    outcome: { result: 'SUCCESS', reason: null },
    target: [
      { id: user.id, type: 'User', alternateId: user.email, displayName: user.displayName },
      ...(group ? [{ id: group.id, type: 'UserGroup', alternateId: 'unknown', displayName: group.name }] : []),
    ],
  };
}

/** An event hook delivery of these events (a fresh delivery id each time). */
export function oktaHookDelivery(events: unknown[]) {
  return {
    eventType: 'com.okta.event_hook',
    eventTypeVersion: '1.0',
    cloudEventsVersion: '0.1',
    source: 'https://dev-00000000.okta.com/api/v1/eventHooks/who0000000000000DEV1',
    eventId: crypto.randomUUID(),
    eventTime: new Date().toISOString(),
    contentType: 'application/json',
    data: { events },
  };
}
