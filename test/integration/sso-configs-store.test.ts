/** Sign-in's reader of SSO configs: a stored config it cannot read costs that account, not the connection's others. */
import { beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createSeededTable } from '../helpers/stack.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { ENTITY, keys } from '../../shared/store/keys.js';
import { ssoConfigsServedBy } from '../../shared/store/sso-configs.js';

beforeAll(async () => {
  await createSeededTable();
});

describe('ssoConfigsServedBy', () => {
  it('leaves out an account whose stored config does not parse, and returns the others', async () => {
    const before = (await ssoConfigsServedBy('okta-a')).map(({ accountId }) => accountId).sort();
    expect(before.length).toBeGreaterThan(0);
    // As an older version with looser checks might have written it: a domain that is not a host name.
    await documentClient.send(
      new PutCommand({ TableName: tableName, Item: { ...keys.account('legacy-bad'), entity: ENTITY.account, accountId: 'legacy-bad', ssoConfig: { active: true, allowedDomains: ['not a domain-'], providers: [{ connectionId: 'okta-a', providerName: 'OktaA', groups: [{ group: 'G', role: 'Admin' }] }] } } }),
    );
    await documentClient.send(new PutCommand({ TableName: tableName, Item: { ...keys.accountLink('okta-a', 'legacy-bad'), entity: ENTITY.accountLink, accountId: 'legacy-bad', connectionId: 'okta-a' } }));
    expect((await ssoConfigsServedBy('okta-a')).map(({ accountId }) => accountId).sort()).toEqual(before);
  });
});
