/** The chaos run's fault middleware: off unless CHAOS_FAILURE_RATE is set, then per attempt, retryable. */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../shared/config.js';
import { InjectedServiceFault, withInjectedFaults } from '../../shared/injected-faults.js';

/**
 * The SDK's retries without its back-off: the standard strategy waits up to 20 s after a throttle,
 * so a call that drew five faults in a row could outlast the test's timeout (a flaky test).
 */
function retryingAtOnce(maxAttempts: number) {
  const token = (retries: number) => ({ getRetryCount: () => retries, getRetryDelay: () => 0 });
  return {
    mode: 'standard',
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: ReturnType<typeof token>, error: unknown) => {
      if (previous.getRetryCount() + 1 >= maxAttempts) throw error;
      return token(previous.getRetryCount() + 1);
    },
    recordSuccess: () => {},
  };
}

/** A DynamoDB client with the fault middleware and no network. */
function clientAnsweringLocally(rate: number, maxAttempts = 1) {
  const calls = { sent: 0 };
  // Stands for the network and DynamoDB: every request that gets past the fault middleware is answered.
  const requestHandler = {
    handle: async () => {
      calls.sent++;
      return { response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from('{}')]) } };
    },
  };
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, retryStrategy: retryingAtOnce(maxAttempts), requestHandler });
  return { client: withInjectedFaults(client, rate), calls };
}

const getItem = () => new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } });

describe('injected AWS faults', () => {
  it('are off without CHAOS_FAILURE_RATE', async () => {
    expect(readConfig({ TABLE_NAME: 'sso-sync-dev' }).chaosFailureRate).toBe(0);
    const { client, calls } = clientAnsweringLocally(readConfig({ TABLE_NAME: 'sso-sync-dev' }).chaosFailureRate);
    for (let call = 0; call < 200; call++) await client.send(getItem());
    expect(calls.sent).toBe(200);
  });

  it('fail about the chosen share of attempts, as throttling or internal errors the SDK would retry', async () => {
    expect(readConfig({ TABLE_NAME: 'sso-sync-dev', CHAOS_FAILURE_RATE: '0.2' }).chaosFailureRate).toBe(0.2);
    const { client } = clientAnsweringLocally(0.2);
    const faults: InjectedServiceFault[] = [];
    const attempts = 2_000;
    for (let call = 0; call < attempts; call++) {
      await client.send(getItem()).catch((error: unknown) => {
        if (!(error instanceof InjectedServiceFault)) throw error;
        faults.push(error);
      });
    }
    expect(faults.length / attempts).toBeGreaterThan(0.16);
    expect(faults.length / attempts).toBeLessThan(0.24);
    const throttled = faults.filter((fault) => fault.kind === 'throttling');
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled.length).toBeLessThan(faults.length);
    for (const fault of throttled) expect(fault).toMatchObject({ name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 }, $retryable: { throttling: true } });
    for (const fault of faults.filter((fault) => fault.kind === 'internalError')) expect(fault).toMatchObject({ name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
  });

  it('fail each attempt on its own, inside the SDK\'s retries', async () => {
    const { client, calls } = clientAnsweringLocally(0.5, 10);
    const outputs = await Promise.all(Array.from({ length: 8 }, () => client.send(getItem())));
    expect(calls.sent).toBe(8);
    // With half of the attempts failing, some calls needed more than one.
    expect(outputs.some((output) => (output.$metadata.attempts ?? 1) > 1)).toBe(true);
  });

  it('refuse a share outside 0–1', () => {
    expect(() => readConfig({ TABLE_NAME: 'sso-sync-dev', CHAOS_FAILURE_RATE: '1.5' })).toThrow(/CHAOS_FAILURE_RATE/);
  });
});
