/**
 * Microsoft Graph for `npm start`: the fake Graph (scripts/lib/fake-graph.ts) filled from the seed
 * file, and each Entra connection's client secret in moto's Secrets Manager, so notifications that
 * need a Graph call, lifecycle events, reconciliation and `npm run subscriptions` work locally.
 *
 * What the fake knows is made up from the seed: every user linked to an Entra connection exists and
 * is enabled, and is a member of each group that grants their role in an account where their
 * membership is active. The subscriptions of the seed exist in Graph too.
 */
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Seed } from '../../shared/domain/seed.js';
import type { FakeGraph } from './fake-graph.js';
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

  const entraIds = new Set(entra.map((connection) => connection.id));
  const members = new Map<string, string[]>();
  for (const user of seed.users) {
    for (const identity of user.identities) {
      if (!entraIds.has(identity.connectionId) || !identity.subject) continue;
      fake.setUser({ id: identity.subject, mail: user.email, userPrincipalName: user.email, accountEnabled: true });
      for (const membership of user.memberships.filter((candidate) => candidate.status === 'active')) {
        const account = seed.accounts.find((candidate) => candidate.id === membership.accountId);
        const grants = (account?.ssoConfig.providers ?? [])
          .filter((provider) => provider.connectionId === identity.connectionId)
          .flatMap((provider) => provider.groups)
          .filter((grant) => grant.role === membership.role);
        for (const { group } of grants) members.set(group, [...(members.get(group) ?? []), identity.subject]);
      }
    }
  }
  // Every configured group exists, members or not (an unknown group makes reconciliation fail).
  const configured = seed.accounts.flatMap((account) =>
    account.ssoConfig.providers.filter((provider) => entraIds.has(provider.connectionId)).flatMap((provider) => provider.groups.map(({ group }) => group)),
  );
  for (const group of new Set(configured)) fake.setGroupMembers(group, [...new Set(members.get(group) ?? [])]);
}
