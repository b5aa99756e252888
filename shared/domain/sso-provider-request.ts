/**
 * The body of `POST /admin/sso-providers` (issue 10): the identity provider(s) to create in
 * Cognito for one account, the groups that grant access and the allowed email domains; and the
 * pure pieces the setup derives from it (provider name, attribute mapping, OIDC details, the
 * connection an issuer implies). No AWS here.
 *
 * The seed's shape, kept as the issue gives it:
 *   {"account_id", "provider": {"client_id", "client_secret", "oidc_issuer"}, "group", "allowed_domain"}
 * and, for several providers, "providers": [...]. A provider is one of:
 *   - OIDC: client_id, client_secret, oidc_issuer;
 *   - SAML: metadata_url, or metadata_xml (the metadata document itself);
 *   - an existing one of the pool, reused: provider_name and nothing else.
 * Each may carry "provider_name" (else derived from the issuer or metadata URL) and its own
 * "group"/"groups"; groups given at the top level apply to every provider without its own.
 * A group is a name (Okta) or object id (Entra), or {"group", "role"}; the role defaults to Admin.
 */
import * as z from 'zod/mini';
import { ID_PATTERN } from './ids.js';
import { ROLES, type Role } from './memberships.js';
import { allowedDomainSchema } from './sso-config.js';
import { describeIssues } from '../validation.js';

export class SsoProviderRequestError extends Error {
  override name = 'SsoProviderRequestError';
}

const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

/** Cognito: ProviderName 1–32 characters, in practice 3+, with no spaces or underscores. */
const PROVIDER_NAME = /^[^_\s]{3,32}$/;
/** Names Cognito keeps for itself and its social providers. */
const RESERVED_PROVIDER_NAMES = new Set(['cognito', 'google', 'facebook', 'loginwithamazon', 'signinwithapple']);

const providerNameSchema = z.string().check(
  z.regex(PROVIDER_NAME, 'a Cognito provider name has 3 to 32 characters and no spaces or underscores'),
  z.refine((name) => !RESERVED_PROVIDER_NAMES.has(name.toLowerCase()), 'this name is reserved by Cognito'),
);

const httpsUrl = z.url({ protocol: /^https$/, hostname: z.regexes.domain, error: 'an https URL' });
/** OAuth redirect URLs: https, or http only on localhost (as Cognito allows). */
const redirectUrl = z.url({ protocol: /^https?$/ }).check(
  z.refine((url) => url.startsWith('https://') || /^http:\/\/localhost(:\d+)?(\/|$)/.test(url), 'an https URL (http only for localhost)'),
);

/** The SSO config's own allowed-domain schema: what this request stores, sign-in reads with it. */
const domainSchema = allowedDomainSchema;

const groupEntrySchema = z.union([
  text(256),
  z.object({ group: text(256), role: z.optional(z.enum(ROLES)) }),
]);

const groupFields = {
  group: z.optional(text(256)),
  role: z.optional(z.enum(ROLES)),
  groups: z.optional(z.array(groupEntrySchema).check(z.minLength(1), z.maxLength(100))),
};

const providerSchema = z.object({
  provider_name: z.optional(providerNameSchema),
  client_id: z.optional(text(255)),
  client_secret: z.optional(text(255)),
  oidc_issuer: z.optional(httpsUrl),
  metadata_url: z.optional(httpsUrl),
  // Cognito's MetadataFile limit is 131,072 characters.
  metadata_xml: z.optional(z.string().check(z.minLength(1), z.maxLength(131_072))),
  ...groupFields,
});

export const ssoProviderRequestSchema = z.object({
  account_id: z.string().check(z.regex(ID_PATTERN, 'use letters, digits, ".", "_" or "-" (at most 64)')),
  /** The connection the providers belong to; without it, the one their issuer implies (created if new). */
  connection_id: z.optional(z.string().check(z.regex(ID_PATTERN, 'use letters, digits, ".", "_" or "-" (at most 64)'))),
  provider: z.optional(providerSchema),
  providers: z.optional(z.array(providerSchema).check(z.minLength(1), z.maxLength(10))),
  provider_name: z.optional(providerNameSchema),
  ...groupFields,
  allowed_domain: z.optional(domainSchema),
  allowed_domains: z.optional(z.array(domainSchema).check(z.minLength(1), z.maxLength(50))),
  callback_urls: z.optional(z.array(redirectUrl).check(z.minLength(1), z.maxLength(100))),
  logout_urls: z.optional(z.array(redirectUrl).check(z.minLength(1), z.maxLength(100))),
});

export type GroupGrant = { group: string; role: Role };

/** The IdP tenant an issuer or metadata URL belongs to: what a connection of the store describes. */
export type ImpliedConnection = { type: 'okta'; orgUrl: string } | { type: 'entra'; tenantId: string };

type ProviderCommon = {
  providerName: string;
  /** Where the provider is in the request ("provider", "providers[1]"), for error messages. */
  field: string;
  groups: GroupGrant[];
};

export type OidcProviderSpec = ProviderCommon & { kind: 'oidc'; clientId: string; clientSecret: string; issuer: string };
export type SamlProviderSpec = ProviderCommon & { kind: 'saml'; metadataUrl?: string; metadataXml?: string };
/** A provider already in the pool, linked to the new app client as it is. */
export type ExistingProviderSpec = ProviderCommon & { kind: 'existing' };
export type SsoProviderSpec = OidcProviderSpec | SamlProviderSpec | ExistingProviderSpec;

export type SsoProviderRequest = {
  accountId: string;
  connectionId?: string;
  providers: SsoProviderSpec[];
  allowedDomains: string[];
  callbackUrls?: string[];
  logoutUrls?: string[];
};

type RawProvider = z.output<typeof providerSchema>;

function groupsOf(raw: Pick<RawProvider, 'group' | 'role' | 'groups'>, field: string): GroupGrant[] | undefined {
  if (raw.role !== undefined && raw.group === undefined) {
    throw new SsoProviderRequestError(`${field}role: "role" goes with "group" (use {"group", "role"} entries in "groups")`);
  }
  const grants: GroupGrant[] = [
    ...(raw.group === undefined ? [] : [{ group: raw.group, role: raw.role ?? 'Admin' }]),
    ...(raw.groups ?? []).map((entry) => (typeof entry === 'string' ? { group: entry, role: 'Admin' as const } : { group: entry.group, role: entry.role ?? 'Admin' })),
  ];
  if (grants.length === 0) return undefined;
  const seen = new Set<string>();
  for (const grant of grants) {
    if (seen.has(grant.group)) throw new SsoProviderRequestError(`${field}groups: the group "${grant.group}" is named twice`);
    seen.add(grant.group);
  }
  return grants;
}

function providerSpecOf(raw: RawProvider, field: string, fallbackName: string | undefined, fallbackGroups: GroupGrant[] | undefined): SsoProviderSpec {
  const oidcFields = (['client_id', 'client_secret', 'oidc_issuer'] as const).filter((key) => raw[key] !== undefined);
  const samlFields = (['metadata_url', 'metadata_xml'] as const).filter((key) => raw[key] !== undefined);
  if (oidcFields.length > 0 && samlFields.length > 0) {
    throw new SsoProviderRequestError(`${field}: give either the OIDC fields (client_id, client_secret, oidc_issuer) or a SAML metadata_url / metadata_xml, not both`);
  }
  const groups = groupsOf(raw, `${field}.`) ?? fallbackGroups;
  if (!groups) throw new SsoProviderRequestError(`${field}.group: give "group" or "groups" (here or at the top level)`);
  const explicitName = raw.provider_name ?? fallbackName;
  const common = { field, groups };

  if (oidcFields.length > 0) {
    for (const key of ['client_id', 'client_secret', 'oidc_issuer'] as const) {
      if (raw[key] === undefined) throw new SsoProviderRequestError(`${field}.${key}: required for an OIDC provider`);
    }
    const issuer = normaliseIssuer(raw.oidc_issuer as string);
    return {
      ...common,
      kind: 'oidc',
      providerName: explicitName ?? deriveProviderName(issuer),
      clientId: raw.client_id as string,
      clientSecret: raw.client_secret as string,
      issuer,
    };
  }
  if (samlFields.length > 1) throw new SsoProviderRequestError(`${field}.metadata_xml: give metadata_url or metadata_xml, not both`);
  if (raw.metadata_url !== undefined) {
    return { ...common, kind: 'saml', providerName: explicitName ?? deriveProviderName(raw.metadata_url, 'saml'), metadataUrl: raw.metadata_url };
  }
  if (raw.metadata_xml !== undefined) {
    // Only Entra's entityID (https://sts.windows.net/<tenant>/) names the IdP tenant; Okta's names the app.
    const entityId = samlEntityIdOf(raw.metadata_xml);
    const name = explicitName ?? (entityId && connectionOfIssuer(entityId)?.type === 'entra' ? deriveProviderName(entityId, 'saml') : undefined);
    if (!name) throw new SsoProviderRequestError(`${field}.provider_name: required unless the metadata is an Entra tenant's (its entityID names the tenant)`);
    return { ...common, kind: 'saml', providerName: name, metadataXml: raw.metadata_xml };
  }
  if (explicitName === undefined) {
    throw new SsoProviderRequestError(
      `${field}: give the OIDC fields (client_id, client_secret, oidc_issuer), a SAML metadata_url or metadata_xml, or the provider_name of an existing provider`,
    );
  }
  return { ...common, kind: 'existing', providerName: explicitName };
}

/**
 * Checks the body and brings it to one shape. Every refusal starts with the field it is about
 * ("provider.oidc_issuer: an https URL"); the client secret is never part of a message.
 */
export function parseSsoProviderRequest(body: unknown): SsoProviderRequest {
  const parsed = ssoProviderRequestSchema.safeParse(body);
  if (!parsed.success) throw new SsoProviderRequestError(describeIssues(parsed.error));
  const raw = parsed.data;

  if ((raw.provider === undefined) === (raw.providers === undefined)) {
    throw new SsoProviderRequestError('provider: give "provider" (one) or "providers" (several), exactly one of them');
  }
  if (raw.provider_name !== undefined && raw.providers !== undefined) {
    throw new SsoProviderRequestError('provider_name: with "providers", give each provider its own provider_name');
  }
  const topGroups = groupsOf(raw, '');
  const entries = raw.provider ? [{ raw: raw.provider, field: 'provider' }] : (raw.providers ?? []).map((provider, index) => ({ raw: provider, field: `providers[${index}]` }));
  const providers = entries.map(({ raw: provider, field }) => providerSpecOf(provider, field, raw.provider_name, topGroups));

  const names = new Set<string>();
  for (const provider of providers) {
    // Cognito compares provider names case-sensitively, but two names differing in case only are a mistake.
    const key = provider.providerName.toLowerCase();
    if (names.has(key)) {
      throw new SsoProviderRequestError(`${provider.field}.provider_name: "${provider.providerName}" is used by another provider of this request`);
    }
    names.add(key);
  }

  const allowedDomains = [...new Set([...(raw.allowed_domain ? [raw.allowed_domain] : []), ...(raw.allowed_domains ?? [])].map((domain) => domain.toLowerCase()))];
  if (allowedDomains.length === 0) throw new SsoProviderRequestError('allowed_domain: give "allowed_domain" or "allowed_domains"');

  return {
    accountId: raw.account_id,
    ...(raw.connection_id ? { connectionId: raw.connection_id } : {}),
    providers,
    allowedDomains,
    ...(raw.callback_urls ? { callbackUrls: raw.callback_urls } : {}),
    ...(raw.logout_urls ? { logoutUrls: raw.logout_urls } : {}),
  };
}

/** Cognito compares `iss` with oidc_issuer as text; a trailing slash is dropped, as issuers are published without one (Okta, Entra v2.0). */
function normaliseIssuer(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}

const OKTA_HOSTS = /^([a-z0-9-]+)\.(okta|oktapreview|okta-emea|okta-gov|okta-mil)\.com$/i;
const ENTRA_HOSTS = /^(login\.microsoftonline\.com|sts\.windows\.net|login\.microsoftonline\.us)$/i;
const TENANT_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function urlOf(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The first path segment of an Entra login or STS URL: the tenant (GUID, domain, or "common"). */
function entraTenantOf(url: URL): string | undefined {
  if (!ENTRA_HOSTS.test(url.hostname)) return undefined;
  return url.pathname.split('/').find(Boolean);
}

/** Keeps [A-Za-z0-9-], one hyphen between parts, none at either end. */
function nameSafe(part: string): string {
  return part.replace(/[^A-Za-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
}

const MAX_PROVIDER_NAME = 32;

/**
 * The Cognito provider name an issuer (or SAML metadata URL) gets when the request names none:
 *   - Okta org `https://dev-123.okta.com[/oauth2/…]`           → `Okta-dev-123`
 *   - Entra `https://login.microsoftonline.com/<tenant>/v2.0`  → `Entra-<first 8 characters of the tenant>`
 *     (also `sts.windows.net/<tenant>/`, and SAML metadata URLs of the same hosts)
 *   - any other issuer `https://idp.example.com/…`             → `Oidc-idp-example-com` (`Saml-…` for a SAML metadata URL)
 * Characters other than [A-Za-z0-9-] become "-", and the name is cut to 32 characters, so it is
 * always 3 to 32 characters of [A-Za-z0-9-] (what Cognito accepts, with no "_" or spaces). Two
 * providers of one Okta org or Entra tenant get the same name: name them with provider_name.
 */
export function deriveProviderName(issuer: string, protocol: 'oidc' | 'saml' = 'oidc'): string {
  const url = urlOf(issuer);
  const okta = url && OKTA_HOSTS.exec(url.hostname);
  const tenant = url && entraTenantOf(url);
  const [prefix, rest] = okta
    ? ['Okta', okta[1] ?? '']
    : tenant !== undefined
      ? ['Entra', nameSafe(tenant).slice(0, 8)]
      : [protocol === 'saml' ? 'Saml' : 'Oidc', url?.hostname ?? issuer];
  const name = `${prefix}-${nameSafe(rest) || 'idp'}`.slice(0, MAX_PROVIDER_NAME);
  return name.replace(/-+$/, '');
}

/** The Okta org or Entra tenant an issuer or SAML metadata URL belongs to; undefined for other IdPs (and Entra's multi-tenant "common"). */
export function connectionOfIssuer(issuer: string): ImpliedConnection | undefined {
  const url = urlOf(issuer);
  if (!url) return undefined;
  if (OKTA_HOSTS.test(url.hostname)) return { type: 'okta', orgUrl: `https://${url.hostname.toLowerCase()}` };
  const tenant = entraTenantOf(url);
  return tenant && TENANT_GUID.test(tenant) ? { type: 'entra', tenantId: tenant.toLowerCase() } : undefined;
}

/** The entityID of a SAML metadata document (Entra: `https://sts.windows.net/<tenant>/`; Okta: `http://www.okta.com/<app id>`). */
export function samlEntityIdOf(metadataXml: string): string | undefined {
  return /\bentityID\s*=\s*"([^"]+)"/.exec(metadataXml)?.[1];
}

/** The connection a provider of the request implies, from its issuer, metadata URL or metadata's entityID. */
export function connectionOfProvider(provider: OidcProviderSpec | SamlProviderSpec): ImpliedConnection | undefined {
  if (provider.kind === 'oidc') return connectionOfIssuer(provider.issuer);
  if (provider.metadataUrl) return connectionOfIssuer(provider.metadataUrl);
  const entityId = provider.metadataXml ? samlEntityIdOf(provider.metadataXml) : undefined;
  // Okta's SAML entityID names the app, not the org, so only an Entra tenant can be read from it.
  const connection = entityId ? connectionOfIssuer(entityId) : undefined;
  return connection?.type === 'entra' ? connection : undefined;
}

export type AttributeNames = { groupsAttribute: string; objectIdAttribute: string };
const DEFAULT_ATTRIBUTES: AttributeNames = { groupsAttribute: 'custom:groups', objectIdAttribute: 'custom:oid' };

/** Entra's SAML claim types (learn.microsoft.com, "SAML token claims reference"). */
export const SAML_CLAIMS = {
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
  objectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
} as const;

/**
 * Cognito attribute ← IdP claim. Entra's `sub` is pairwise per app, so its object id (`oid`) is
 * mapped too: it is what links a user to Graph notifications. Okta's `sub` is the user id already.
 */
export function oidcAttributeMapping(issuer: string, attributes: AttributeNames = DEFAULT_ATTRIBUTES): Record<string, string> {
  const mapping: Record<string, string> = { email: 'email', [attributes.groupsAttribute]: 'groups' };
  if (isEntraIssuer(issuer)) mapping[attributes.objectIdAttribute] = 'oid';
  return mapping;
}

/** SAML: the claim URIs Entra sends (an Okta SAML app names its attribute statements the same); the object id for Entra only. */
export function samlAttributeMapping(provider: SamlProviderSpec, attributes: AttributeNames = DEFAULT_ATTRIBUTES): Record<string, string> {
  const mapping: Record<string, string> = { email: SAML_CLAIMS.email, [attributes.groupsAttribute]: SAML_CLAIMS.groups };
  if (connectionOfProvider(provider)?.type === 'entra') mapping[attributes.objectIdAttribute] = SAML_CLAIMS.objectId;
  return mapping;
}

function isEntraIssuer(issuer: string): boolean {
  const url = urlOf(issuer);
  return url !== undefined && ENTRA_HOSTS.test(url.hostname);
}

/** Cognito's OIDC ProviderDetails: the claims are read from the ID token and the userInfo endpoint (GET). */
export function oidcProviderDetails(provider: Pick<OidcProviderSpec, 'clientId' | 'clientSecret' | 'issuer'>): Record<string, string> {
  return {
    client_id: provider.clientId,
    client_secret: provider.clientSecret,
    oidc_issuer: provider.issuer,
    authorize_scopes: 'openid email profile',
    attributes_request_method: 'GET',
  };
}

/** Cognito's SAML ProviderDetails. IdP-initiated sign-out is left off. */
export function samlProviderDetails(provider: Pick<SamlProviderSpec, 'metadataUrl' | 'metadataXml'>): Record<string, string> {
  return {
    ...(provider.metadataUrl ? { MetadataURL: provider.metadataUrl } : { MetadataFile: provider.metadataXml ?? '' }),
    IDPSignout: 'false',
  };
}
