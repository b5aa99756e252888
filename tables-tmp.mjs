import { DynamoDBClient, ListTablesCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
const c = new DynamoDBClient({ endpoint: 'http://127.0.0.1:37427', region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const { TableNames } = await c.send(new ListTablesCommand({}));
for (const t of TableNames) { const r = await c.send(new DescribeTableCommand({ TableName: t })); console.log(new Date().toISOString(), t, r.Table.ItemCount, r.Table.TableSizeBytes); }
