/**
 * The stream processors' dead-letter queue (ProcessEventsDeadLetterQueue): Lambda's on-failure
 * destination puts there one invocation record per batch it gave up on. SQS_ENDPOINT points the
 * client at moto_server in tests; unset on AWS.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import { clientOptions, config } from '../config.js';

const { sqsEndpoint } = config();

export const sqsClient = new SQSClient(clientOptions(sqsEndpoint));

/**
 * The invocation record of a DynamoDB stream batch that exhausted its retries, as documented in
 * the Lambda developer guide ("Retaining discarded batches ... DynamoDB", example invocation
 * record). It points at stream records; it carries neither the records nor the items' keys.
 */
export const streamBatchRecordSchema = z.object({
  requestContext: z.optional(z.object({ functionArn: z.optional(z.string()), condition: z.optional(z.string()) })),
  DDBStreamBatchInfo: z.object({
    shardId: z.string(),
    startSequenceNumber: z.string(),
    endSequenceNumber: z.string(),
    batchSize: z.number(),
    streamArn: z.string(),
  }),
});

export type StreamBatchRecord = z.infer<typeof streamBatchRecordSchema>;

export type DeadLetter = { receiptHandle: string; batch: StreamBatchRecord | undefined };

/**
 * Up to `max` messages, each hidden from other readers for `visibilitySeconds` (they come back
 * unless deleted). A message that is not a stream batch record has `batch` undefined.
 */
export async function receiveDeadLetters(queueUrl: string, max: number, visibilitySeconds = 120): Promise<DeadLetter[]> {
  const received: DeadLetter[] = [];
  while (received.length < max) {
    const { Messages } = await sqsClient.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, max - received.length), VisibilityTimeout: visibilitySeconds, WaitTimeSeconds: 0 }),
    );
    if (!Messages?.length) break;
    for (const message of Messages) {
      if (!message.ReceiptHandle) continue;
      received.push({ receiptHandle: message.ReceiptHandle, batch: parseBatchRecord(message.Body) });
    }
  }
  return received;
}

function parseBatchRecord(body: string | undefined): StreamBatchRecord | undefined {
  try {
    const parsed = streamBatchRecordSchema.safeParse(JSON.parse(body ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Deletes these messages, ten per call (SQS's batch limit); the number deleted. */
export async function deleteDeadLetters(queueUrl: string, receiptHandles: string[]): Promise<number> {
  let deleted = 0;
  for (let start = 0; start < receiptHandles.length; start += 10) {
    const chunk = receiptHandles.slice(start, start + 10);
    const { Successful, Failed } = await sqsClient.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((receiptHandle, index) => ({ Id: String(index), ReceiptHandle: receiptHandle })) }),
    );
    if (Failed?.length) throw new Error(`the dead-letter queue refused ${Failed.length} deletions: ${Failed[0]?.Code ?? ''} ${Failed[0]?.Message ?? ''}`);
    deleted += Successful?.length ?? 0;
  }
  return deleted;
}

/** Makes these messages visible again now (a later call takes them), ten per call; failures are left to the visibility timeout. */
export async function releaseDeadLetters(queueUrl: string, receiptHandles: string[]): Promise<void> {
  for (let start = 0; start < receiptHandles.length; start += 10) {
    const chunk = receiptHandles.slice(start, start + 10);
    await sqsClient.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((receiptHandle, index) => ({ Id: String(index), ReceiptHandle: receiptHandle, VisibilityTimeout: 0 })) }),
    );
  }
}
