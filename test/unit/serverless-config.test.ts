/**
 * serverless.yml against the code that mirrors it locally: the table as tableDefinition() creates
 * it, the stream mapping as local-stream.ts replays it, and least-privilege grants.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GRAPH_INBOX_PENDING_FILTER, GRAPH_STREAM_SETTINGS, INBOX_INSERT_FILTER, STREAM_SETTINGS } from '../../scripts/lib/local-stream.js';
import { tableDefinition, TTL_ATTRIBUTE } from '../../shared/store/keys.js';

const SERVERLESS_YML = join(dirname(fileURLToPath(import.meta.url)), '../../serverless.yml');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Mapping = { [key: string]: Json };

type IamStatement = { Effect: string; Action: string | string[]; Resource: Json };
type StreamEvent = {
  stream: {
    type: string;
    batchSize: number;
    parallelizationFactor?: number;
    maximumRetryAttempts?: number;
    bisectBatchOnFunctionError?: boolean;
    functionResponseType?: string;
    destinations?: { onFailure?: { type: string; arn: Json } };
    filterPatterns?: Json[];
  };
};
type HttpApiEvent = { httpApi: { method: string; path: string } };
type FunctionDefinition = {
  handler: string;
  events?: Mapping[];
  iamRoleStatements?: IamStatement[];
};
type ServerlessConfig = {
  provider: Mapping & { runtime: string };
  functions: Record<string, FunctionDefinition>;
  resources: { Resources: Record<string, { Type: string; Properties: Mapping }> };
};

const serverless = parse(readFileSync(SERVERLESS_YML, 'utf8')) as ServerlessConfig;
const table = tableDefinition('x');
const tableResource = serverless.resources.Resources.Table;
const tableProperties = tableResource?.Properties ?? {};

function streamEventOf(functionName: string): StreamEvent['stream'] {
  const events = serverless.functions[functionName]?.events ?? [];
  const streams = events.filter((event): event is StreamEvent & Mapping => 'stream' in event);
  expect(streams).toHaveLength(1);
  return streams[0]!.stream;
}

/** Every IAM action string anywhere in the file: per-function statements, provider.iam, resources. */
function allIamActions(node: Json | undefined, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const child of node) allIamActions(child, found);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Action' || key === 'NotAction') found.push(...[value].flat().map(String));
      else allIamActions(value, found);
    }
  }
  return found;
}

/** IAM action patterns are case-insensitive globs (`*`, `?`). */
function grants(actionPattern: string, action: string): boolean {
  const pattern = actionPattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`, 'i').test(action);
}

describe('the Table resource', () => {
  it('is a DynamoDB table kept when the stack goes', () => {
    expect(tableResource?.Type).toBe('AWS::DynamoDB::Table');
    expect(tableResource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has the key schema of tableDefinition()', () => {
    expect(tableProperties.KeySchema).toEqual(table.KeySchema);
  });

  it('declares the same attribute definitions as tableDefinition()', () => {
    expect(tableProperties.AttributeDefinitions).toEqual(table.AttributeDefinitions);
  });

  it('declares the same global secondary indexes as tableDefinition()', () => {
    expect(tableProperties.GlobalSecondaryIndexes).toEqual(table.GlobalSecondaryIndexes);
  });

  it('streams the same view type as tableDefinition()', () => {
    expect(table.StreamSpecification?.StreamViewType).toBe('NEW_IMAGE');
    expect(tableProperties.StreamSpecification).toEqual({ StreamViewType: table.StreamSpecification?.StreamViewType });
  });

  it('expires items on the TTL attribute the code writes', () => {
    expect(tableProperties.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
  });

  it('has point-in-time recovery on', () => {
    expect(tableProperties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('bills per request, like tableDefinition()', () => {
    expect(tableProperties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(tableProperties.BillingMode).toBe(table.BillingMode);
  });
});

describe.each([
  { name: 'process-events', filter: INBOX_INSERT_FILTER, settings: STREAM_SETTINGS },
  { name: 'process-graph-events', filter: GRAPH_INBOX_PENDING_FILTER, settings: GRAPH_STREAM_SETTINGS },
])('the $name stream mapping', ({ name, filter, settings }) => {
  it('lets through only what local-stream.ts lets through: inbox INSERTs of its source', () => {
    const stream = streamEventOf(name);
    expect(stream.type).toBe('dynamodb');
    expect(stream.filterPatterns).toHaveLength(1);
    expect(stream.filterPatterns?.[0]).toEqual(filter);
  });

  it('reports partial batch failures and splits a failing batch', () => {
    const stream = streamEventOf(name);
    expect(stream.functionResponseType).toBe('ReportBatchItemFailures');
    expect(stream.bisectBatchOnFunctionError).toBe(true);
  });

  it('retries a bounded number of times', () => {
    const { maximumRetryAttempts } = streamEventOf(name);
    expect(Number.isInteger(maximumRetryAttempts)).toBe(true);
    expect(maximumRetryAttempts).toBeGreaterThanOrEqual(0);
    expect(maximumRetryAttempts).toBeLessThanOrEqual(10_000);
  });

  it('runs with the batch size, parallelization and retries the local stream mirrors', () => {
    const { batchSize, parallelizationFactor, maximumRetryAttempts } = streamEventOf(name);
    expect({ batchSize, parallelizationFactor, maximumRetryAttempts }).toEqual(settings);
  });

  it('sends what still fails to the dead-letter queue declared in resources', () => {
    const { destinations } = streamEventOf(name);
    expect(destinations?.onFailure?.type).toBe('sqs');
    expect(destinations?.onFailure?.arn).toEqual({ 'Fn::GetAtt': ['ProcessEventsDeadLetterQueue', 'Arn'] });
    expect(serverless.resources.Resources.ProcessEventsDeadLetterQueue?.Type).toBe('AWS::SQS::Queue');
  });
});

describe('functions and grants', () => {
  it('runs on nodejs22.x', () => {
    expect(serverless.provider.runtime).toBe('nodejs22.x');
  });

  it('routes both GET and POST /hooks/okta/{connectionId} to okta-hook', () => {
    const routes = (serverless.functions['okta-hook']?.events ?? [])
      .filter((event): event is HttpApiEvent & Mapping => 'httpApi' in event)
      .map(({ httpApi }) => `${httpApi.method.toUpperCase()} ${httpApi.path}`);
    expect(routes).toEqual(expect.arrayContaining(['GET /hooks/okta/{connectionId}', 'POST /hooks/okta/{connectionId}']));
  });

  it('finds the IAM statements it is about to check', () => {
    const actions = allIamActions(serverless as unknown as Json);
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions).toContain('sqs:SendMessage');
  });

  it('grants dynamodb:* and Scan nowhere, not even through a wildcard', () => {
    const actions = allIamActions(serverless as unknown as Json);
    expect(actions.filter((action) => grants(action, 'dynamodb:Scan'))).toEqual([]);
    expect(actions.filter((action) => grants(action, 'dynamodb:DeleteTable'))).toEqual([]);
  });

  it('gives every function its own statements, scoped to named resources', () => {
    for (const [name, definition] of Object.entries(serverless.functions)) {
      expect(definition.iamRoleStatements, name).toBeDefined();
      for (const statement of definition.iamRoleStatements ?? []) {
        expect([statement.Resource].flat(), name).not.toContain('*');
      }
    }
  });
});

describe('the grants check itself', () => {
  it.each([
    ['dynamodb:*', true],
    ['*', true],
    ['DynamoDB:scan', true],
    ['dynamodb:Sc?n', true],
    ['dynamodb:Query', false],
    ['dynamodb:Scanner', false],
  ])('%s grants dynamodb:Scan: %s', (pattern, expected) => {
    expect(grants(pattern, 'dynamodb:Scan')).toBe(expected);
  });
});

describe('the sign-in triggers and the federated app client', () => {
  it('wire cognito-trigger to the four moments of a federated sign-in', () => {
    const triggers = (serverless.functions['cognito-trigger']?.events ?? []).map(
      (event) => (event as { cognitoUserPool: { pool: string; trigger: string } }).cognitoUserPool.trigger,
    );
    expect(triggers.sort()).toEqual(['PostAuthentication', 'PostConfirmation', 'PreSignUp', 'PreTokenGeneration']);
  });

  it('give the pool the custom attributes the groups and the Entra object id are mapped to', () => {
    const schema = serverless.resources.Resources.CognitoUserPoolSsoSync?.Properties.Schema as { Name: string }[];
    expect(schema.map((attribute) => attribute.Name).sort()).toEqual(['groups', 'oid']);
  });

  it('let no token of the federated client write its own attributes', () => {
    const client = serverless.resources.Resources.FederatedAppClient?.Properties ?? {};
    // Cognito must be able to write mapped attributes, so they are in WriteAttributes; a user can
    // only write them with an access token carrying aws.cognito.signin.user.admin, which this
    // client never issues, and without password or SRP sign-in.
    expect(client.AllowedOAuthScopes).not.toContain('aws.cognito.signin.user.admin');
    expect(client.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
  });
});
