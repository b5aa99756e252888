import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientOptions, config } from '../config.js';
import { withInjectedFaults } from '../injected-faults.js';

const { dynamoEndpoint } = config();

/** Created once per container (module scope). Points at DynamoDB Local when DYNAMODB_ENDPOINT is set. */
export const dynamoClient = withInjectedFaults(new DynamoDBClient(clientOptions(dynamoEndpoint)));

export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

export const tableName = config().tableName;
