import { describe, expect, it } from 'vitest';
import { federatedIdentity, idpSubject, ProvenanceError, providerNameFromUserName, resolveProviderName } from '../../shared/domain/provenance.js';
import { fixture } from '../helpers/fixtures.js';

type TriggerEvent = { userName: string; request: { userAttributes: Record<string, string> } };

describe('provenance', () => {
  it('reads the Okta user id from a PostConfirmation event', () => {
    const event = fixture<TriggerEvent>('cognito-post-confirmation-external.json');
    const provenance = federatedIdentity(event.request.userAttributes.identities);
    expect(provenance).toEqual({ providerName: 'Okta', providerType: 'OIDC', idpUserId: '00u0000000000000DEV1' });
    expect(idpSubject({ connectionType: 'okta', provenance: provenance!, userAttributes: {}, objectIdAttribute: 'custom:oid' })).toBe(
      '00u0000000000000DEV1',
    );
  });

  it('treats a user without identities as native', () => {
    expect(federatedIdentity(undefined)).toBeUndefined();
    expect(federatedIdentity('')).toBeUndefined();
  });

  it('refuses a malformed identities attribute', () => {
    expect(() => federatedIdentity('not json')).toThrow(ProvenanceError);
    expect(() => federatedIdentity('[]')).toThrow(ProvenanceError);
    expect(() => federatedIdentity('[{"providerName":"Okta"}]')).toThrow(ProvenanceError);
  });

  it('takes the provider from the user name at PreSignUp, before identities exist', () => {
    const event = fixture<TriggerEvent>('cognito-pre-signup-external.json');
    expect(event.request.userAttributes.identities).toBeUndefined();
    expect(providerNameFromUserName(event.userName)).toBe('Okta');
    expect(providerNameFromUserName('native-user')).toBeUndefined();
  });

  it('finds the configured provider when Cognito lower-cased the user name', () => {
    expect(resolveProviderName(providerNameFromUserName('okta_00u0000000000000dev1')!, ['Okta', 'EntraID'])).toBe('Okta');
    expect(resolveProviderName('Okta', ['Okta', 'okta'])).toBe('Okta');
    expect(resolveProviderName('OKTA', ['Okta', 'okta'])).toBeUndefined();
    expect(resolveProviderName('Google', ['Okta'])).toBeUndefined();
  });

  it('links an Entra user by the mapped object id, not by its pairwise sub', () => {
    const event = fixture<TriggerEvent>('cognito-post-authentication-entra.json');
    const provenance = federatedIdentity(event.request.userAttributes.identities)!;
    expect(provenance.providerName).toBe('EntraID');
    const userAttributes = { ...event.request.userAttributes, 'custom:oid': '00000000-0000-4000-8000-0000000D1001' };
    expect(idpSubject({ connectionType: 'entra', provenance, userAttributes, objectIdAttribute: 'custom:oid' })).toBe(
      '00000000-0000-4000-8000-0000000d1001',
    );
  });

  it('says which attribute mapping is missing for an Entra user without an object id', () => {
    const event = fixture<TriggerEvent>('cognito-post-authentication-entra.json');
    const provenance = federatedIdentity(event.request.userAttributes.identities)!;
    const { 'custom:oid': _, ...withoutOid } = event.request.userAttributes;
    expect(() => idpSubject({ connectionType: 'entra', provenance, userAttributes: withoutOid, objectIdAttribute: 'custom:oid' })).toThrow(
      /map the "oid" claim to the attribute custom:oid/,
    );
  });
});
