/**
 * serverless.yml against the code that mirrors it locally: the table as tableDefinition() creates
 * it, the stream mapping as local-stream.ts replays it, and least-privilege grants.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GRAPH_INBOX_PENDING_FILTER, GRAPH_STREAM_SETTINGS, OKTA_INBOX_PENDING_FILTER, STREAM_SETTINGS } from '../../scripts/lib/local-stream.js';
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
  environment?: Mapping;
  iamRoleStatements?: IamStatement[];
};
type ServerlessConfig = {
  provider: Mapping & { runtime: string };
  custom: Mapping;
  functions: Record<string, FunctionDefinition>;
  resources: { Resources: Record<string, { Type: string; Properties: Mapping }> };
};
type PolicyProperties = { Roles: Json[]; PolicyDocument: { Statement: IamStatement[] } };

// The logical ids serverless gives a function's resources; serverless-iam-roles-per-function names
// a function's role getNormalizedFunctionName(name) + getRoleLogicalId().
const naming = createRequire(import.meta.url)('serverless/lib/plugins/aws/lib/naming.js') as {
  getNormalizedFunctionName(name: string): string;
  getRoleLogicalId(): string;
};
const roleOfFunction = (name: string) => naming.getNormalizedFunctionName(name) + naming.getRoleLogicalId();

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

/** The value with every `${self:custom.<name>}` replaced by what custom.<name> holds. */
function resolveCustom(node: Json | undefined): Json {
  if (typeof node === 'string') {
    const name = /^\$\{self:custom\.([\w-]+)\}$/.exec(node)?.[1];
    return name === undefined ? node : resolveCustom(serverless.custom[name]);
  }
  if (Array.isArray(node)) return node.map(resolveCustom);
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolveCustom(value)]));
  }
  return node ?? null;
}

/** A Resource's ARNs as text: Fn::Sub's template, Fn::Join's parts joined, Fn::GetAtt as `${Logical.Attribute}`. */
function arnTexts(resource: Json): string[] {
  const text = (node: Json): string => {
    if (typeof node === 'string') return node;
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
      if (typeof node['Fn::Sub'] === 'string') return node['Fn::Sub'];
      const join = node['Fn::Join'];
      if (Array.isArray(join) && Array.isArray(join[1])) return join[1].map(text).join(String(join[0]));
      if (typeof node.Ref === 'string') return `\${${node.Ref}}`;
    }
    throw new Error(`not an ARN expression: ${JSON.stringify(node)}`);
  };
  return [resolveCustom(resource)].flat().map(text);
}

/** Every IAM statement the stack grants from this file: each function's own, and those of policy resources. */
function allStatements(): { owner: string; statement: IamStatement }[] {
  const ofFunctions = Object.entries(serverless.functions).flatMap(([name, definition]) =>
    (definition.iamRoleStatements ?? []).map((statement) => ({ owner: name, statement })),
  );
  const ofPolicies = Object.entries(serverless.resources.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::RolePolicy')
    .flatMap(([id, resource]) =>
      (resource.Properties as unknown as PolicyProperties).PolicyDocument.Statement.map((statement) => ({ owner: id, statement })),
    );
  return [...ofFunctions, ...ofPolicies];
}

const actionsOf = (statement: IamStatement) => [statement.Action].flat();
const USER_POOL_ARN = { 'Fn::GetAtt': ['CognitoUserPoolSsoSync', 'Arn'] };
// Secret names come from the seed (connections), and Secrets Manager appends a random suffix to every
// secret's ARN, so the Graph secrets are granted by name prefix: the stage's own folder.
const GRAPH_SECRETS_ARN = /:secret:\$\{param:graphSecretsPrefix, 'sso-sync\/\$\{sls:stage\}\/'\}\*$/;

/** What each function is deployed with: provider.environment, then its own. */
function deployedEnvironments(): [string, Mapping][] {
  const shared = (serverless.provider.environment ?? {}) as Mapping;
  return Object.entries(serverless.functions).map(([name, definition]) => [name, { ...shared, ...definition.environment }]);
}

/** A value as text, followed by every custom variable it names (`self:custom.<name>`), so none hides behind one. */
function expandedText(node: Json | undefined, seen = new Set<string>()): string {
  const text = JSON.stringify(node ?? null);
  const names = [...text.matchAll(/self:custom\.([\w-]+)/g)].map((match) => match[1] as string).filter((name) => !seen.has(name));
  for (const name of names) seen.add(name);
  return [text, ...names.map((name) => expandedText(serverless.custom[name], seen))].join('\n');
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
  { name: 'process-okta-events', filter: OKTA_INBOX_PENDING_FILTER, settings: STREAM_SETTINGS },
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

  it('gives every function its own statements', () => {
    for (const [name, definition] of Object.entries(serverless.functions)) {
      expect(definition.iamRoleStatements, name).toBeDefined();
    }
  });
});

describe('least privilege: every grant names its resources', () => {
  it('finds the statements of the functions and of the policy resources', () => {
    const owners = new Set(allStatements().map(({ owner }) => owner));
    expect(owners).toContain('process-okta-events');
    expect(owners).toContain('CognitoTriggerUserPoolPolicy');
  });

  it('grants nothing on `*`, on a path ending in `/*`, or with a wildcard anywhere but the Graph secrets prefix', () => {
    for (const { owner, statement } of allStatements()) {
      for (const arn of arnTexts(statement.Resource)) {
        expect(arn, owner).not.toBe('*');
        if (GRAPH_SECRETS_ARN.test(arn)) continue; // the one wildcard: a name prefix scoped to the stage
        expect(arn, owner).not.toMatch(/\/\*$/);
        expect(arn, owner).not.toContain('*');
      }
    }
  });

  it('grants Cognito actions on the stage\'s user pool only, by its ARN', () => {
    const cognito = allStatements().filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('cognito-idp:')));
    expect(cognito.map(({ owner }) => owner).sort()).toEqual(['CognitoTriggerUserPoolPolicy', 'admin-api', 'process-graph-events', 'process-okta-events', 'repair']);
    for (const { owner, statement } of cognito) {
      expect(resolveCustom(statement.Resource), owner).toEqual(USER_POOL_ARN);
      expect(actionsOf(statement).every((action) => !action.includes('*')), owner).toBe(true);
    }
  });

  it('grants DynamoDB actions on the table and its indexes by name, never on every index; stream reads on its stream only', () => {
    const indexNames = (table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName);
    const allowed = ['${Table.Arn}', ...indexNames.map((name) => `\${Table.Arn}/index/${name}`)];
    const streamReads = ['dynamodb:GetShardIterator', 'dynamodb:GetRecords'];
    const dynamo = allStatements().filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    for (const { owner, statement } of dynamo) {
      const readsStream = actionsOf(statement).every((action) => streamReads.includes(action));
      for (const arn of arnTexts(statement.Resource)) expect(readsStream ? ['${Table.StreamArn}'] : allowed, owner).toContain(arn);
    }
    // Only the admin API reads the stream itself (POST /admin/events/replay, dead-lettered batches).
    expect(dynamo.filter(({ statement }) => actionsOf(statement).some((action) => streamReads.includes(action))).map(({ owner }) => owner)).toEqual(['admin-api']);
  });

  it('lets functions use only the secrets under the stage\'s own name prefix: read them, or (admin-api) create and delete app client secrets', () => {
    const secrets = allStatements().filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('secretsmanager:')));
    expect(secrets.map(({ owner }) => owner).sort()).toEqual(['admin-api', 'cognito-trigger', 'poll-graph-deltas', 'poll-okta-logs', 'process-graph-events', 'process-okta-events', 'renew-subscriptions']);
    for (const { owner, statement } of secrets) {
      expect(actionsOf(statement), owner).toEqual(owner === 'admin-api' ? ['secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:GetSecretValue'] : ['secretsmanager:GetSecretValue']);
      expect(arnTexts(statement.Resource), owner).toEqual([expect.stringMatching(GRAPH_SECRETS_ARN)]);
    }
  });

  it('lets the repair do only what sign-in\'s group sync and the revocation do: key reads and writes on the table, and their Cognito calls', () => {
    const statements = serverless.functions.repair?.iamRoleStatements ?? [];
    expect(serverless.functions.repair?.events).toEqual([{ schedule: "${param:repairSchedule, 'rate(15 minutes)'}" }]);
    const dynamo = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
    expect(dynamo.flatMap(actionsOf).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    for (const statement of dynamo) expect(arnTexts(statement.Resource)).toEqual(['${Table.Arn}']);
    const cognito = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('cognito-idp:')));
    expect(cognito.flatMap(actionsOf).sort()).toEqual([
      'cognito-idp:AdminAddUserToGroup',
      'cognito-idp:AdminDisableUser',
      'cognito-idp:AdminListGroupsForUser',
      'cognito-idp:AdminRemoveUserFromGroup',
      'cognito-idp:AdminUserGlobalSignOut',
      'cognito-idp:CreateGroup',
    ]);
    expect(statements).toHaveLength(2);
  });

  it('lets the writers of a recorded failure delete its repair marker when the retry succeeds', () => {
    for (const name of ['cognito-trigger', 'process-okta-events', 'process-graph-events']) {
      const actions = (serverless.functions[name]?.iamRoleStatements ?? []).flatMap(actionsOf);
      expect(actions, name).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem']));
    }
  });

  it('never names the user pool in the role of a function the pool triggers (pool → function → role → pool)', () => {
    const triggered = Object.entries(serverless.functions).filter(([, definition]) =>
      (definition.events ?? []).some((event) => 'cognitoUserPool' in event),
    );
    expect(triggered.map(([name]) => name)).toEqual(['cognito-trigger']);
    for (const [name, definition] of triggered) {
      expect(JSON.stringify(resolveCustom(definition.iamRoleStatements as unknown as Json)), name).not.toContain('CognitoUserPoolSsoSync');
    }
  });

  it('attaches the trigger\'s pool policy to the role serverless-iam-roles-per-function creates for it', () => {
    const policy = serverless.resources.Resources.CognitoTriggerUserPoolPolicy;
    expect(policy?.Type).toBe('AWS::IAM::Policy');
    expect(roleOfFunction('cognito-trigger')).toBe('CognitoDashtriggerIamRoleLambdaExecution');
    expect((policy?.Properties as unknown as PolicyProperties).Roles).toEqual([{ Ref: roleOfFunction('cognito-trigger') }]);
  });
});

describe('the deployed functions\' environment', () => {
  it('finds every function and the variables they share', () => {
    const environments = Object.fromEntries(deployedEnvironments());
    expect(Object.keys(environments)).toContain('okta-hook');
    expect(environments['okta-hook']).toHaveProperty('TABLE_NAME');
    expect(environments['process-graph-events']).toHaveProperty('HOOKS_BASE_URL');
  });

  it('holds no *_ENDPOINT variable: local endpoints come from npm start, never from serverless.yml', () => {
    for (const [name, environment] of deployedEnvironments()) {
      expect(Object.keys(environment).filter((variable) => variable.endsWith('_ENDPOINT')), name).toEqual([]);
    }
  });

  it('takes nothing from the deployer\'s shell (${env:…}), where a local endpoint or URL could be set', () => {
    for (const [name, environment] of deployedEnvironments()) {
      expect(expandedText(environment), name).not.toMatch(/\benv:/);
    }
  });

  it('never switches on the chaos run\'s fault injection (CHAOS_FAILURE_RATE)', () => {
    for (const [name, environment] of deployedEnvironments()) {
      expect(Object.keys(environment).filter((variable) => variable.startsWith('CHAOS_')), name).toEqual([]);
    }
  });

  it('names no local address', () => {
    for (const [name, environment] of deployedEnvironments()) {
      expect(expandedText(environment), name).not.toMatch(/localhost|127\.0\.0\.1|\[::1\]/);
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

describe('alarms', () => {
  const resources = Object.entries(serverless.resources.Resources);
  const alarms = resources.filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm').map(([, resource]) => resource.Properties);
  const watchedFunctions = (metric: string) =>
    alarms
      .filter((alarm) => alarm.Namespace === 'AWS/Lambda' && alarm.MetricName === metric)
      .map((alarm) => String((alarm.Dimensions as Array<{ Value: string }>)[0]?.Value).replace('${self:service}-${sls:stage}-', ''));

  it('notify the alarm topic, every one of them', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
  });

  it('watch every scheduled and stream function for failures, and the stream consumers for lag', () => {
    const background = Object.entries(serverless.functions)
      .filter(([, definition]) => (definition.events ?? []).some((event) => 'schedule' in event || 'stream' in event))
      .map(([name]) => name)
      .sort();
    expect(background).toEqual(expect.arrayContaining(['poll-graph-deltas', 'poll-okta-logs', 'process-graph-events', 'process-okta-events', 'reconcile', 'renew-subscriptions', 'repair']));
    expect(watchedFunctions('Errors').sort()).toEqual(background);
    const streamConsumers = background.filter((name) => (serverless.functions[name]?.events ?? []).some((event) => 'stream' in event));
    expect(watchedFunctions('IteratorAge').sort()).toEqual(streamConsumers);
  });

  it('name functions that exist', () => {
    for (const name of [...watchedFunctions('Errors'), ...watchedFunctions('IteratorAge')]) expect(serverless.functions).toHaveProperty(name);
  });
});
