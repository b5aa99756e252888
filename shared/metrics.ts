/**
 * CloudWatch metrics in the embedded metric format (Powertools Metrics): a log line CloudWatch
 * turns into metrics, so no PutMetricData call and no extra latency. Namespace from
 * POWERTOOLS_METRICS_NAMESPACE (serverless.yml: sso-sync/<stage>); POWERTOOLS_METRICS_DISABLED=true
 * turns them off (npm start and the tests, where they would only be noise).
 *
 * Event counts are per connection (dimension connectionId), so a dashboard or alarm can follow one
 * IdP tenant: one line per connection and invocation, however many events it handled.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

const SERVICE = 'sso-sync';
const DEFAULT_NAMESPACE = 'sso-sync';

export type EventMetric =
  /** New inbox items stored from webhook deliveries (duplicates not counted). */
  | 'EventsReceived'
  /**
   * Inbox items a poller stored. Okta: events no hook had delivered (above zero, deliveries are being
   * lost). Graph: state hints, re-armed even when a notification brought the same change.
   */
  | 'EventsPolled'
  | 'EventsApplied'
  /** Ended with nothing to do: skipped, stale or invalid (the outcome says why). */
  | 'EventsSkipped'
  /** Failed an attempt; the stream retries it, then dead-letters it. */
  | 'EventsFailed';

function emitter(dimensions: Record<string, string>): Metrics {
  return new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_NAMESPACE, serviceName: SERVICE, defaultDimensions: dimensions });
}

function emit(dimensions: Record<string, string>, counts: ReadonlyMap<string, number>): void {
  try {
    const metrics = emitter(dimensions);
    for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.publishStoredMetrics();
  } catch {
    // A metric lost is better than an event retried or a sign-in refused.
  }
}

/** Counts of one invocation, per connection; publish() writes them, one line per connection. */
export class ConnectionCounts {
  private readonly counts = new Map<string, Map<EventMetric, number>>();

  add(connectionId: string, metric: EventMetric, count = 1): void {
    if (count <= 0) return;
    const ofConnection = this.counts.get(connectionId) ?? new Map<EventMetric, number>();
    ofConnection.set(metric, (ofConnection.get(metric) ?? 0) + count);
    this.counts.set(connectionId, ofConnection);
  }

  /** The outcome of a processed event: applied, or anything else that ended it (skipped, stale, invalid). */
  addOutcome(connectionId: string, status: string): void {
    this.add(connectionId, status === 'applied' ? 'EventsApplied' : status === 'failed' ? 'EventsFailed' : 'EventsSkipped');
  }

  /**
   * One line per connection; failures also once more without the connection, since a CloudWatch
   * alarm needs fixed dimensions (the `events-failing` alarm). Never throws: metrics must not fail
   * the work they count.
   */
  publish(): void {
    let failed = 0;
    for (const [connectionId, counts] of this.counts) {
      failed += counts.get('EventsFailed') ?? 0;
      // A record naming no connection (only a malformed one can) still counts, under a name CloudWatch accepts.
      emit({ connectionId: connectionId || '(none)' }, counts);
    }
    if (failed > 0) emit({}, new Map([['EventsFailed', failed]]));
    this.counts.clear();
  }
}

/** One count of one connection, published at once (a webhook delivery, one connection's poll). */
export function publishCount(connectionId: string, metric: EventMetric, count: number): void {
  const counts = new ConnectionCounts();
  counts.add(connectionId, metric, count);
  counts.publish();
}

export type SignInTrigger = 'signUp' | 'signIn' | 'token';
export type SignInDecision = 'admitted' | 'denied' | 'error';

/** One sign-in decision of the Cognito trigger (native users are not counted). */
export function countSignInDecision(trigger: SignInTrigger, decision: SignInDecision): void {
  emit({ trigger, decision }, new Map([['SignInDecisions', 1]]));
}
