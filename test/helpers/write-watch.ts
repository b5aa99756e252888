/**
 * Cheap "what did this case write" for the fuzz tests: an AWS SDK middleware on the DynamoDB
 * client the handlers use (shared/store/client.ts; the document client shares its middleware
 * stack) records every write that succeeded — PutItem, UpdateItem, DeleteItem, TransactWriteItems,
 * BatchWriteItem — with the keys it touched. A refused request must have recorded none.
 *
 * The table is not scanned per case: the watch keeps a model of the table (key → item), read in
 * full once at the start; after a case only the keys the case wrote are read back (GetItem), which
 * gives the case's additions and changes exactly as a whole-table comparison would. Every
 * `fullCheckEvery` cases, and at the end, the whole table is read and compared with the model: a
 * write the middleware did not see (another client, a write after the answer) fails the property there.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { expect } from 'vitest';
import { documentClient, dynamoClient, tableName } from '../../shared/store/client.js';
import { canonicalItem, tableSnapshot } from './table.js';

type Key = { pk: string; sk: string };
export type RecordedWrite = { command: string; keys: Key[] };

/** The write commands, by the low-level name, and the document client's names for them (its context carries those). */
const WRITE_COMMANDS: Record<string, string> = {
  PutItemCommand: 'PutItemCommand',
  UpdateItemCommand: 'UpdateItemCommand',
  DeleteItemCommand: 'DeleteItemCommand',
  TransactWriteItemsCommand: 'TransactWriteItemsCommand',
  BatchWriteItemCommand: 'BatchWriteItemCommand',
  PutCommand: 'PutItemCommand',
  UpdateCommand: 'UpdateItemCommand',
  DeleteCommand: 'DeleteItemCommand',
  TransactWriteCommand: 'TransactWriteItemsCommand',
  BatchWriteCommand: 'BatchWriteItemCommand',
};
const MIDDLEWARE = 'fuzzWriteWatch';

const keyText = (key: Key) => JSON.stringify([key.pk, key.sk]);
const keyOfItem = (item: Record<string, unknown>): Key => ({ pk: String(item.pk), sk: String(item.sk) });

/** The keys a low-level write command's input touches (its Put items' keys, its Update/Delete keys), for this table only. */
function keysWritten(command: string, input: Record<string, any>): Key[] {
  // Marshalled ({ pk: { S: … } }) or not: the document client's transactions reach this step still in its own shape.
  const fromAttributes = (attributes: Record<string, unknown> | undefined): Key | undefined => {
    if (!attributes) return undefined;
    const plain = typeof attributes.pk === 'string' ? attributes : unmarshall({ pk: attributes.pk, sk: attributes.sk } as Record<string, AttributeValue>);
    return { pk: String(plain.pk), sk: String(plain.sk) };
  };
  const keys: (Key | undefined)[] = [];
  const mine = (table: unknown) => table === tableName;
  switch (command) {
    case 'PutItemCommand':
      if (mine(input.TableName)) keys.push(fromAttributes(input.Item));
      break;
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      if (mine(input.TableName)) keys.push(fromAttributes(input.Key));
      break;
    case 'TransactWriteItemsCommand':
      for (const entry of input.TransactItems ?? []) {
        if (entry.Put && mine(entry.Put.TableName)) keys.push(fromAttributes(entry.Put.Item));
        if (entry.Update && mine(entry.Update.TableName)) keys.push(fromAttributes(entry.Update.Key));
        if (entry.Delete && mine(entry.Delete.TableName)) keys.push(fromAttributes(entry.Delete.Key));
      }
      break;
    case 'BatchWriteItemCommand':
      // Unprocessed items come back in the answer; counting them as written only makes the check stricter.
      for (const request of input.RequestItems?.[tableName] ?? []) {
        keys.push(fromAttributes(request.PutRequest?.Item) ?? fromAttributes(request.DeleteRequest?.Key));
      }
      break;
  }
  return keys.filter((key): key is Key => key !== undefined);
}

export type CaseChanges = {
  /** The writes that succeeded during the case. */
  writes: RecordedWrite[];
  /** Items that did not exist before the case, as stored after it. */
  added: Record<string, unknown>[];
  /** Items that existed before the case and were changed or deleted. */
  changed: { before: Record<string, unknown>; after: Record<string, unknown> | undefined }[];
};

export class WriteWatch {
  private readonly model = new Map<string, string>();
  private recorded: RecordedWrite[] = [];
  private cases = 0;

  private constructor(private readonly fullCheckEvery: number) {}

  /** Reads the whole table once and starts recording writes. One watch per test file. */
  static async start(options: { fullCheckEvery?: number } = {}): Promise<WriteWatch> {
    const watch = new WriteWatch(options.fullCheckEvery ?? 500);
    dynamoClient.middlewareStack.remove(MIDDLEWARE);
    dynamoClient.middlewareStack.add(
      (next, context) => async (args) => {
        const command = WRITE_COMMANDS[context.commandName ?? ''];
        const result = await next(args);
        // Recorded once DynamoDB accepted it: a write refused by its condition changed nothing.
if (command) watch.recorded.push({ command, keys: keysWritten(command, args.input as Record<string, any>) });
        return result;
      },
      // After the document client's marshalling (initialize), before serializing: the input is in DynamoDB's own shape.
      { step: 'serialize', priority: 'high', name: MIDDLEWARE },
    );
    await watch.resync();
    return watch;
  }

  /** The model replaced by the table as it is (after a test that wrote outside a case, say). */
  async resync(): Promise<void> {
    this.model.clear();
    for (const item of await tableSnapshot()) this.model.set(keyText(keyOfItem(JSON.parse(item) as Record<string, unknown>)), item);
    this.recorded = [];
  }

  /** Runs one case and returns what it wrote, read back key by key; the model follows. Every `fullCheckEvery` cases, the whole table is compared too. */
  async around<T>(run: () => Promise<T>): Promise<{ result: T } & CaseChanges> {
    this.recorded = [];
    const result = await run();
    const writes = this.recorded;
    this.recorded = [];
    const touched = new Map(writes.flatMap((write) => write.keys).map((key) => [keyText(key), key]));
    const added: Record<string, unknown>[] = [];
    const changed: CaseChanges['changed'] = [];
    for (const [text, key] of touched) {
      const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      const now = Item ? canonicalItem(Item) : undefined;
      const before = this.model.get(text);
      if (before === undefined && now !== undefined) added.push(JSON.parse(now) as Record<string, unknown>);
      if (before !== undefined && before !== now) changed.push({ before: JSON.parse(before) as Record<string, unknown>, after: now === undefined ? undefined : (JSON.parse(now) as Record<string, unknown>) });
      if (now === undefined) this.model.delete(text);
      else this.model.set(text, now);
    }
    this.cases += 1;
    if (this.cases % this.fullCheckEvery === 0) await this.expectTableMatchesModel();
    return { result, writes, added, changed };
  }

  /** The whole table equals the model: no write escaped the middleware. Call at the end of a property too. */
  async expectTableMatchesModel(): Promise<void> {
    const table = await tableSnapshot();
    const model = [...this.model.values()].sort();
    const recordedSince = this.recorded.length;
    // On a mismatch the model restarts from the table, so the next property is judged on its own writes.
    if (recordedSince > 0 || table.length !== model.length || table.some((item, index) => item !== model[index])) await this.resync();
    expect(table, `the whole table after ${this.cases} cases equals the model the recorded writes built`).toEqual(model);
    expect(recordedSince, 'no write outside a case').toBe(0);
  }

  /** How many cases ran through this watch. */
  get caseCount(): number {
    return this.cases;
  }
}
