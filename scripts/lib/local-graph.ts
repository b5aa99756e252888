/**
 * Microsoft Graph for `npm start`: the fake Graph (scripts/lib/fake-graph.ts) filled from the seed
 * file, and each Entra connection's client secret in moto's Secrets Manager, so notifications that
 * need a Graph call, lifecycle events, reconciliation and `npm run subscriptions` work locally.
 *
 * What the fake knows is made up from the seed (seed-directory.ts): every user linked to an Entra
 * connection exists and is enabled, in the groups that grant their role where their membership is
 * active. The subscriptions of the seed exist in Graph too.
 */
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Seed } from '../../shared/domain/seed.js';
import type { FakeGraph } from './fake-graph.js';
import { seedDirectory } from './seed-directory.js';
import { subscriptionUrls } from '../../shared/app/graph-subscriptions.js';

/** Any value works: the fake accepts what it was told; this is what both sides are told. */
export const LOCAL_GRAPH_CLIENT_SECRET = 'local-graph-client-secret-for-npm-start';

export async function putSecret(endpoint: string, name: string, value: string): Promise<void> {
  const secrets = new SecretsManagerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
  }
}

export async function populateLocalGraph(fake: FakeGraph, seed: Seed, options: { secretsEndpoint: string; hooksBaseUrl: string }): Promise<void> {
  const entra = seed.connections.filter((connection) => connection.type === 'entra');
  for (const connection of entra) {
    if (connection.graph && connection.tenantId) {
      await putSecret(options.secretsEndpoint, connection.graph.clientSecretRef, LOCAL_GRAPH_CLIENT_SECRET);
      fake.registerApp(connection.tenantId, connection.graph.clientId, LOCAL_GRAPH_CLIENT_SECRET);
    }
    const urls = subscriptionUrls(options.hooksBaseUrl, connection.id);
    for (const subscription of connection.subscriptions) {
      fake.holdSubscription({
        id: subscription.id,
        resource: subscription.resource,
        changeType: subscription.changeType,
        clientState: subscription.clientStates[0] ?? null,
        ...urls,
        expirationDateTime: subscription.expiresAt,
        applicationId: connection.graph?.clientId ?? connection.id,
      });
    }
  }

  const { identities, groupMembers } = seedDirectory(seed, new Set(entra.map((connection) => connection.id)));
  for (const { subject, email } of identities) fake.setUser({ id: subject, mail: email, userPrincipalName: email, accountEnabled: true });
  for (const [group, members] of groupMembers) fake.setGroupMembers(group, members);
}
