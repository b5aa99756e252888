/**
 * Runs before each test file's imports: points the code at DynamoDB Local and at a table of
 * the file's own, so files never see each other's data. Configuration is read at import, as on Lambda.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, inject } from 'vitest';
import { captureLogOutput, failOnLeaksAfterFile } from './helpers/log-scan.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.DYNAMODB_ENDPOINT = inject('dynamoEndpoint');
process.env.TABLE_NAME = `test-${randomUUID()}`;
process.env.AWS_REGION = 'us-east-1';
// Every log line is kept and searched for secrets after the file (issue 12, part 5): the handlers
// log at DEBUG, read when they are imported. The lines are shown only with LOG_LEVEL set.
process.env.POWERTOOLS_LOG_LEVEL = process.env.LOG_LEVEL ?? 'DEBUG';
captureLogOutput(process.env.LOG_LEVEL !== undefined);
failOnLeaksAfterFile();
// The handlers are imported by now; the scripts a test runs as child processes log as before.
beforeAll(() => {
  process.env.POWERTOOLS_LOG_LEVEL = process.env.LOG_LEVEL ?? 'SILENT';
});
// EMF metrics are log lines for CloudWatch: noise here (test/unit/metrics.test.ts turns them on).
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.COGNITO_ENDPOINT = inject('motoEndpoint');
process.env.SECRETS_MANAGER_ENDPOINT = inject('motoEndpoint');
process.env.SQS_ENDPOINT = inject('motoEndpoint');
