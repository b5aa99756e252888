/**
 * One DynamoDB Local and one moto_server for the whole run; each test file creates its own
 * table (and its own user pool) in them.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type DynamoDbLocal } from '../scripts/lib/dynamodb-local.js';
import { startMotoServer, type MotoServer } from '../scripts/lib/moto-server.js';

let dynamo: DynamoDbLocal | undefined;
let moto: MotoServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  [dynamo, moto] = await Promise.all([startDynamoDbLocal(), startMotoServer()]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('motoEndpoint', moto.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.all([dynamo?.stop(), moto?.stop()]);
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    motoEndpoint: string;
  }
}
