/** The body of POST /admin/sso-providers and what is derived from it, without Cognito. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  connectionOfIssuer,
  deriveProviderName,
  oidcAttributeMapping,
  oidcProviderDetails,
  parseSsoProviderRequest,
  samlAttributeMapping,
  samlProviderDetails,
  SsoProviderRequestError,
  type SamlProviderSpec,
} from '../../shared/domain/sso-provider-request.js';

const TENANT = '6f0c2b1e-4d3a-4c5b-9e8f-0a1b2c3d4e5f';
const okta = { client_id: '0oa1okta', client_secret: 'test-only', oidc_issuer: 'https://dev-123.okta.com' };
const seedRequest = { account_id: 'acme', provider: okta, group: 'Finance-Approvers', allowed_domain: 'acme.example' };

function refusal(body: unknown): string {
  try {
    parseSsoProviderRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(SsoProviderRequestError);
    return (error as Error).message;
  }
  throw new Error('the request was accepted');
}

describe('parseSsoProviderRequest', () => {
  it('reads the seed’s shape: one OIDC provider, one group (Admin by default), one domain', () => {
    expect(parseSsoProviderRequest(seedRequest)).toEqual({
      accountId: 'acme',
      providers: [
        {
          kind: 'oidc',
          field: 'provider',
          providerName: 'Okta-dev-123',
          clientId: '0oa1okta',
          clientSecret: 'test-only',
          issuer: 'https://dev-123.okta.com',
          groups: [{ group: 'Finance-Approvers', role: 'Admin' }],
        },
      ],
      allowedDomains: ['acme.example'],
    });
  });

  it('reads several providers, each with its own groups and roles, and top-level groups for the rest', () => {
    const request = parseSsoProviderRequest({
      account_id: 'both',
      providers: [
        { ...okta, provider_name: 'AcmeOkta' },
        { client_id: 'c', client_secret: 's', oidc_issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`, groups: [{ group: 'g1', role: 'Author' }, 'g2'] },
        { metadata_url: 'https://idp.example.com/metadata.xml' },
        { provider_name: 'Existing' },
      ],
      group: 'Everyone',
      role: 'Viewer',
      allowed_domains: ['Acme.Example', 'acme.example', 'contoso.example'],
    });
    expect(request.providers.map((provider) => [provider.kind, provider.providerName, provider.groups])).toEqual([
      ['oidc', 'AcmeOkta', [{ group: 'Everyone', role: 'Viewer' }]],
      ['oidc', 'Entra-6f0c2b1e', [{ group: 'g1', role: 'Author' }, { group: 'g2', role: 'Admin' }]],
      ['saml', 'Saml-idp-example-com', [{ group: 'Everyone', role: 'Viewer' }]],
      ['existing', 'Existing', [{ group: 'Everyone', role: 'Viewer' }]],
    ]);
    expect(request.allowedDomains).toEqual(['acme.example', 'contoso.example']);
  });

  it('names a SAML provider from Entra metadata, whose entityID names the tenant', () => {
    const request = parseSsoProviderRequest({ ...seedRequest, provider: { metadata_xml: `<EntityDescriptor entityID="https://sts.windows.net/${TENANT}/">` } });
    expect(request.providers[0]).toMatchObject({ kind: 'saml', providerName: 'Entra-6f0c2b1e' });
  });

  it('takes a top-level provider_name for the one provider', () => {
    expect(parseSsoProviderRequest({ ...seedRequest, provider_name: 'AcmeOkta' }).providers[0]?.providerName).toBe('AcmeOkta');
  });

  it('drops a trailing slash of the issuer', () => {
    const request = parseSsoProviderRequest({ ...seedRequest, provider: { ...okta, oidc_issuer: 'https://dev-123.okta.com/oauth2/default/' } });
    expect(request.providers[0]).toMatchObject({ issuer: 'https://dev-123.okta.com/oauth2/default' });
  });

  it.each([
    [{ ...seedRequest, account_id: 'has space' }, /^account_id: /],
    [{ ...seedRequest, provider: { ...okta, oidc_issuer: 'http://dev-123.okta.com' } }, /^provider\.oidc_issuer: an https URL/],
    [{ ...seedRequest, provider: { ...okta, client_id: '' } }, /^provider\.client_id: /],
    [{ ...seedRequest, provider: { client_secret: 'x', oidc_issuer: okta.oidc_issuer } }, /^provider\.client_id: required for an OIDC provider/],
    [{ ...seedRequest, provider: { ...okta, provider_name: 'Has_Underscore' } }, /^provider\.provider_name: .*no spaces or underscores/],
    [{ ...seedRequest, provider: { ...okta, provider_name: 'ab' } }, /^provider\.provider_name: .*3 to 32/],
    [{ ...seedRequest, provider: { ...okta, provider_name: 'COGNITO' } }, /^provider\.provider_name: this name is reserved/],
    [{ ...seedRequest, provider: { ...okta, metadata_url: 'https://idp.example.com/m' } }, /^provider: give either the OIDC fields/],
    [{ ...seedRequest, provider: { metadata_url: 'https://idp.example.com/m', metadata_xml: '<x/>' } }, /^provider\.metadata_xml: /],
    [{ ...seedRequest, provider: { metadata_xml: '<EntityDescriptor entityID="http://www.okta.com/exk1"/>' } }, /^provider\.provider_name: required unless the metadata is an Entra/],
    [{ ...seedRequest, provider: {} }, /^provider: give the OIDC fields/],
    [{ ...seedRequest, group: undefined }, /^provider\.group: give "group" or "groups"/],
    [{ ...seedRequest, role: 'Owner' }, /^role: Invalid option/],
    [{ ...seedRequest, group: undefined, groups: [{ group: 'a', role: 'Admin' }, 'a'] }, /^groups: the group "a" is named twice/],
    [{ ...seedRequest, allowed_domain: undefined }, /^allowed_domain: give/],
    [{ ...seedRequest, allowed_domain: 'not a domain' }, /^allowed_domain: an email domain/],
    [{ ...seedRequest, providers: [okta] }, /^provider: give "provider" \(one\) or "providers"/],
    [{ ...seedRequest, provider: undefined }, /^provider: give "provider" \(one\) or "providers"/],
    [{ ...seedRequest, provider: undefined, providers: [okta, { ...okta, client_id: 'other' }] }, /^providers\[1\]\.provider_name: "Okta-dev-123" is used by another/],
    [{ ...seedRequest, provider: undefined, providers: [{ ...okta, provider_name: 'AcmeOkta', groups: [{ group: 'g', role: 'Boss' }] }] }, /^providers\[0\]\.groups\[0\]/],
    [{ ...seedRequest, callback_urls: ['http://app.example/cb'] }, /^callback_urls\[0\]: /],
  ])('refuses %j naming the field', (body, message) => {
    expect(refusal(body)).toMatch(message);
  });

  it('never puts the client secret in a refusal', () => {
    const secret = 'secret-value-that-must-not-leak';
    expect(refusal({ ...seedRequest, provider: { client_secret: secret, oidc_issuer: 'nope' } })).not.toContain(secret);
    expect(refusal({ ...seedRequest, provider: { client_secret: secret, client_id: 1, oidc_issuer: okta.oidc_issuer } })).not.toContain(secret);
  });
});

describe('deriveProviderName', () => {
  it.each([
    ['https://dev-123.okta.com', 'Okta-dev-123'],
    ['https://dev-123.okta.com/oauth2/default', 'Okta-dev-123'],
    ['https://acme.oktapreview.com', 'Okta-acme'],
    [`https://login.microsoftonline.com/${TENANT}/v2.0`, 'Entra-6f0c2b1e'],
    [`https://sts.windows.net/${TENANT}/`, 'Entra-6f0c2b1e'],
    [`https://login.microsoftonline.com/${TENANT}/federationmetadata/2007-06/federationmetadata.xml?appid=x`, 'Entra-6f0c2b1e'],
    ['https://auth.example.com/realms/main', 'Oidc-auth-example-com'],
    ['https://a-very-long-identity-provider-host-name.example.com', 'Oidc-a-very-long-identity-provid'],
    ['https://x--y.example.com', 'Oidc-x-y-example-com'],
  ])('%s → %s', (issuer, name) => {
    expect(deriveProviderName(issuer)).toBe(name);
  });

  it('always gives 3 to 32 characters of [A-Za-z0-9-], without a hyphen at either end', () => {
    const valid = (name: string) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{1,30})[A-Za-z0-9]$/.test(name) && !name.includes('--');
    fc.assert(fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => valid(deriveProviderName(url))));
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => valid(deriveProviderName(text)) && valid(deriveProviderName(text, 'saml'))));
    const oktaOrg = fc.stringMatching(/^[a-z0-9-]{1,63}$/).map((org) => `https://${org}.okta.com`);
    fc.assert(fc.property(oktaOrg, (issuer) => valid(deriveProviderName(issuer))));
    const entra = fc.string({ unit: 'binary', maxLength: 80 }).map((tenant) => `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/v2.0`);
    fc.assert(fc.property(entra, (issuer) => valid(deriveProviderName(issuer))));
  });
});

describe('connectionOfIssuer', () => {
  it('reads an Okta org from its issuer, with or without a custom authorization server', () => {
    expect(connectionOfIssuer('https://Dev-123.okta.com/oauth2/default')).toEqual({ type: 'okta', orgUrl: 'https://dev-123.okta.com' });
  });

  it('reads an Entra tenant id from the v2.0 issuer, the v1 issuer and the SAML metadata URL', () => {
    for (const issuer of [
      `https://login.microsoftonline.com/${TENANT.toUpperCase()}/v2.0`,
      `https://sts.windows.net/${TENANT}/`,
      `https://login.microsoftonline.com/${TENANT}/federationmetadata/2007-06/federationmetadata.xml`,
    ]) {
      expect(connectionOfIssuer(issuer)).toEqual({ type: 'entra', tenantId: TENANT });
    }
  });

  it('implies no connection for other IdPs or a tenant that is not an id', () => {
    expect(connectionOfIssuer('https://auth.example.com')).toBeUndefined();
    expect(connectionOfIssuer('https://login.microsoftonline.com/common/v2.0')).toBeUndefined();
    expect(connectionOfIssuer('not a url')).toBeUndefined();
  });
});

describe('attribute mappings and provider details', () => {
  it('maps email and groups for Okta, and the object id too for Entra', () => {
    expect(oidcAttributeMapping('https://dev-123.okta.com')).toEqual({ email: 'email', 'custom:groups': 'groups' });
    expect(oidcAttributeMapping(`https://login.microsoftonline.com/${TENANT}/v2.0`)).toEqual({ email: 'email', 'custom:groups': 'groups', 'custom:oid': 'oid' });
  });

  it('uses the configured attribute names', () => {
    expect(oidcAttributeMapping(`https://login.microsoftonline.com/${TENANT}/v2.0`, { groupsAttribute: 'custom:idp_groups', objectIdAttribute: 'custom:entra_oid' })).toEqual({
      email: 'email',
      'custom:idp_groups': 'groups',
      'custom:entra_oid': 'oid',
    });
  });

  it('maps SAML claim URIs, the object id for an Entra tenant only', () => {
    const saml = (metadata: Partial<SamlProviderSpec>): SamlProviderSpec => ({ kind: 'saml', providerName: 'X', field: 'provider', groups: [], ...metadata });
    const email = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
    const groups = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';
    const oid = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
    expect(samlAttributeMapping(saml({ metadataUrl: 'https://dev-123.okta.com/app/x/sso/saml/metadata' }))).toEqual({ email, 'custom:groups': groups });
    expect(samlAttributeMapping(saml({ metadataXml: `<EntityDescriptor entityID="https://sts.windows.net/${TENANT}/">` }))).toEqual({
      email,
      'custom:groups': groups,
      'custom:oid': oid,
    });
  });

  it('gives OIDC details with GET for the attributes and the openid, email and profile scopes', () => {
    expect(oidcProviderDetails({ clientId: 'c', clientSecret: 's', issuer: 'https://dev-123.okta.com' })).toEqual({
      client_id: 'c',
      client_secret: 's',
      oidc_issuer: 'https://dev-123.okta.com',
      authorize_scopes: 'openid email profile',
      attributes_request_method: 'GET',
    });
  });

  it('gives SAML details from a metadata URL or the document', () => {
    expect(samlProviderDetails({ metadataUrl: 'https://idp.example.com/m' })).toEqual({ MetadataURL: 'https://idp.example.com/m', IDPSignout: 'false' });
    expect(samlProviderDetails({ metadataXml: '<x/>' })).toEqual({ MetadataFile: '<x/>', IDPSignout: 'false' });
  });
});
