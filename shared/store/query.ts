import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { documentClient, tableName } from './client.js';
import { fitsPartitionKey, GSI1 } from './keys.js';

/** Runs a Query and follows LastEvaluatedKey to the end: a missed page would be a missed account. */
export async function queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new QueryCommand({ ...input, TableName: tableName, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Every item of one partition, optionally only those whose sort key starts with a prefix. A key
 * over DynamoDB's limit names an empty partition (nothing could be written there), and DynamoDB
 * would refuse the Query: e.g. a 255-character Okta group name, URI-encoded in a group grant key.
 */
export async function queryPartition(
  pk: string,
  skPrefix?: string,
  { consistent = false }: { consistent?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  if (!fitsPartitionKey(pk)) return [];
  return queryAll({
    KeyConditionExpression: skPrefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
    ExpressionAttributeValues: skPrefix ? { ':pk': pk, ':prefix': skPrefix } : { ':pk': pk },
    ConsistentRead: consistent,
  });
}

/** Every entry of one gsi1 listing (keys only: the table's and the index's). */
export function queryIndex(gsi1pk: string): Promise<Record<string, unknown>[]> {
  return queryAll({ IndexName: GSI1, KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': gsi1pk } });
}
