/**
 * The EMF lines CloudWatch turns into metrics: per connection for events, per decision for
 * sign-ins, and never a thrown error from a metric.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionCounts, countSignInDecision, publishCount } from '../../shared/metrics.js';

type Emf = { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>;

let lines: string[] = [];

beforeEach(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'sso-sync/test';
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  delete process.env.POWERTOOLS_METRICS_NAMESPACE;
});

const emitted = () => lines.map((line) => JSON.parse(line) as Emf);

describe('event metrics', () => {
  it('writes one line per connection with every count of the invocation', () => {
    const counts = new ConnectionCounts();
    counts.addOutcome('acme-okta', 'applied');
    counts.addOutcome('acme-okta', 'applied');
    counts.addOutcome('acme-okta', 'stale');
    counts.addOutcome('acme-okta', 'invalid');
    counts.add('acme-okta', 'EventsFailed');
    counts.addOutcome('globex-entra', 'skipped');
    counts.publish();

    const [acme, globex, allConnections] = emitted();
    expect(emitted()).toHaveLength(3);
    // Failures once more without the connection: what the events-failing alarm watches.
    expect(allConnections).toMatchObject({ service: 'sso-sync', EventsFailed: 1 });
    expect(allConnections).not.toHaveProperty('connectionId');
    expect(acme).toMatchObject({ connectionId: 'acme-okta', service: 'sso-sync', EventsApplied: 2, EventsSkipped: 2, EventsFailed: 1 });
    expect(acme?._aws.CloudWatchMetrics[0]?.Namespace).toBe('sso-sync/test');
    expect(acme?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'connectionId']));
    expect(globex).toMatchObject({ connectionId: 'globex-entra', EventsSkipped: 1 });
    expect(globex).not.toHaveProperty('EventsApplied');
  });

  it('publishes nothing for zero counts, and nothing twice', () => {
    const counts = new ConnectionCounts();
    counts.add('acme-okta', 'EventsPolled', 0);
    counts.publish();
    publishCount('acme-okta', 'EventsReceived', 0);
    expect(lines).toEqual([]);
    counts.add('acme-okta', 'EventsPolled', 3);
    counts.publish();
    counts.publish();
    expect(emitted()).toEqual([expect.objectContaining({ connectionId: 'acme-okta', EventsPolled: 3 })]);
  });

  it('writes nothing when POWERTOOLS_METRICS_DISABLED is true', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    publishCount('acme-okta', 'EventsReceived', 5);
    countSignInDecision('signIn', 'admitted');
    expect(lines).toEqual([]);
  });
});

describe('sign-in decisions', () => {
  it('counts each decision with the trigger and the decision as dimensions', () => {
    countSignInDecision('signIn', 'admitted');
    countSignInDecision('token', 'denied');
    expect(emitted()).toEqual([
      expect.objectContaining({ trigger: 'signIn', decision: 'admitted', SignInDecisions: 1 }),
      expect.objectContaining({ trigger: 'token', decision: 'denied', SignInDecisions: 1 }),
    ]);
  });
});
