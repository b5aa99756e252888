import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.js';

const { dynamoEndpoint } = config();

/** Created once per container (module scope). Points at DynamoDB Local when DYNAMODB_ENDPOINT is set. */
export const dynamoClient = new DynamoDBClient(
  dynamoEndpoint
    ? {
        endpoint: dynamoEndpoint,
        region: process.env.AWS_REGION ?? 'us-east-1',
        // DynamoDB Local accepts any credentials; these keep a machine without AWS config working.
        credentials: {
          accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
          secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
        },
      }
    : {},
);

export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

export const tableName = config().tableName;
