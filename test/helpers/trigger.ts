/** Cognito trigger events for federated users of the test seed's providers, and a user for them in moto's pool. */
import { handler } from '../../functions/cognito-trigger.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { findUserIdByEmail, membershipsOfUser } from '../../shared/store/directory.js';
import { createFederatedUser } from './cognito.js';
import { fixture } from './fixtures.js';

export type TriggerEvent = {
  version: string;
  triggerSource: string;
  userPoolId: string;
  userName: string;
  request: { userAttributes: Record<string, string>; groupConfiguration?: Record<string, unknown> };
  response: Record<string, unknown> | null;
};

export const CONFIRM = 'cognito-post-confirmation-external.json';
export const AUTHENTICATE = 'cognito-post-authentication-okta.json';
export const TOKEN = 'cognito-pre-token-generation.json';

export const invokeTrigger = (event: TriggerEvent) => handler(event, lambdaContext('cognito-trigger')) as Promise<TriggerEvent>;

/** A federated user of the test's own (provider OktaA unless said), in moto and in a Cognito event of the given kind. */
export async function oktaTriggerUser(userPoolId: string, name: string, email = `${name}@example.com`, provider = 'OktaA') {
  const idpUserId = `00u${name.replace(/\W/g, '').slice(0, 12).padEnd(12, '0')}DEV1`;
  const userName = `${provider}_${idpUserId}`;
  await createFederatedUser(userPoolId, userName, email);
  const event = (file: string, groups: string | undefined, changes: Partial<TriggerEvent> = {}): TriggerEvent => {
    const base = structuredClone(fixture<TriggerEvent>(file));
    const identities = JSON.stringify([{ userId: idpUserId, providerName: provider, providerType: 'OIDC', issuer: null, primary: true, dateCreated: 1 }]);
    const attributes: Record<string, string> = { ...base.request.userAttributes, email, identities };
    if (groups === undefined) delete attributes['custom:groups'];
    else attributes['custom:groups'] = groups;
    return { ...base, userPoolId, userName, ...changes, request: { ...base.request, userAttributes: attributes } };
  };
  return { userName, email, cognito: { userPoolId, username: userName }, event };
}

/**
 * A user of the EntraA provider in the pool, and the fixture's PostAuthentication event for them with
 * these attributes changed (undefined removes one).
 */
export async function entraTriggerUser(userPoolId: string, email: string, attributes: Record<string, string | undefined> = {}, provider = 'EntraA') {
  const entra = fixture<TriggerEvent>('cognito-post-authentication-entra.json');
  const userName = `${provider}_${crypto.randomUUID()}`;
  await createFederatedUser(userPoolId, userName, email);
  const event = { ...structuredClone(entra), userPoolId, userName };
  const identities = entra.request.userAttributes.identities!.replace(/"providerName":"[^"]+"/, `"providerName":"${provider}"`);
  event.request.userAttributes = { ...event.request.userAttributes, identities, email, ...attributes };
  for (const [name, value] of Object.entries(attributes)) if (value === undefined) delete event.request.userAttributes[name];
  return { userName, event };
}

/** Each membership of the user linked to this connection by email, as `status:role` per account. */
export async function rolesOf(email: string, connectionId = 'okta-a') {
  const userId = await findUserIdByEmail(connectionId, email);
  const memberships = userId ? await membershipsOfUser(userId) : [];
  return Object.fromEntries(memberships.map((m) => [m.accountId, `${m.status}:${m.role}`]));
}
