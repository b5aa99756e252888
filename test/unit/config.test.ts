/** The environment is read once, validated, and refused with the offending variable's name. */
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../shared/config.js';

const MINIMAL = { TABLE_NAME: 'sso-sync-dev' };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('readConfig accepted the environment');
}

describe('readConfig', () => {
  it('applies the defaults when only TABLE_NAME is set', () => {
    const config = readConfig(MINIMAL);
    expect(config.tableName).toBe('sso-sync-dev');
    expect(config.dynamoEndpoint).toBeUndefined();
    expect([...config.oktaEventTypes].sort()).toEqual([
      'group.user_membership.add',
      'group.user_membership.remove',
      'user.lifecycle.activate',
      'user.lifecycle.deactivate',
      'user.lifecycle.delete.initiated',
      'user.lifecycle.reactivate',
      'user.lifecycle.suspend',
      'user.lifecycle.unsuspend',
    ]);
    expect(config.configCacheMs).toBe(60_000);
    expect(config.maxWebhookBodyBytes).toBe(1024 * 1024);
    expect(config.inboxRetentionDays).toBe(90);
    expect(config.oktaPoll).toEqual({ lookbackMinutes: 60, maxPages: 10 });
  });

  it('reads every variable that is set', () => {
    const config = readConfig({
      TABLE_NAME: 'sso-sync-prod',
      DYNAMODB_ENDPOINT: 'http://localhost:8000',
      OKTA_EVENT_TYPES: 'user.lifecycle.deactivate',
      CONFIG_CACHE_SECONDS: '0',
      MAX_WEBHOOK_BODY_BYTES: '65536',
      INBOX_RETENTION_DAYS: '30',
      OKTA_POLL_LOOKBACK_MINUTES: '15',
      OKTA_POLL_MAX_PAGES: '3',
      GROUPS_ATTRIBUTE: 'custom:idp_groups',
      OBJECT_ID_ATTRIBUTE: 'custom:objectid',
      GRAPH_BASE_URL: 'https://127.0.0.1:8443/v1.0/',
      SECRETS_MANAGER_ENDPOINT: 'http://127.0.0.1:5000',
      HOOKS_BASE_URL: 'https://hooks.example.com/',
      DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/sso-sync-prod-process-events-dlq',
      ADMIN_USER_POOL_ID: 'eu-west-1_AbC123',
      ADMIN_CLIENT_IDS: 'client-a, client-b',
      ADMIN_GROUP: 'platform-admins',
      SSO_CALLBACK_URLS: 'https://app.example.com/callback',
      SSO_LOGOUT_URLS: 'https://app.example.com/',
      SECRETS_PREFIX: 'sso-sync/prod/',
      CHAOS_FAILURE_RATE: '0.2',
      AWS_REGION: 'eu-west-1',
    });
    expect(config).toEqual({
      tableName: 'sso-sync-prod',
      dynamoEndpoint: 'http://localhost:8000',
      cognitoEndpoint: undefined,
      oktaEventTypes: new Set(['user.lifecycle.deactivate']),
      configCacheMs: 0,
      maxWebhookBodyBytes: 65536,
      inboxRetentionDays: 30,
      oktaPoll: { lookbackMinutes: 15, maxPages: 3 },
      groupsAttribute: 'custom:idp_groups',
      objectIdAttribute: 'custom:objectid',
      disableOnDeprovision: false,
      graphBaseUrl: 'https://127.0.0.1:8443/v1.0',
      graphAuthorityHost: 'https://login.microsoftonline.com',
      secretsManagerEndpoint: 'http://127.0.0.1:5000',
      hooksBaseUrl: 'https://hooks.example.com',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/sso-sync-prod-process-events-dlq',
      sqsEndpoint: undefined,
      admin: {
        userPoolId: 'eu-west-1_AbC123',
        clientIds: new Set(['client-a', 'client-b']),
        group: 'platform-admins',
        callbackUrls: ['https://app.example.com/callback'],
        logoutUrls: ['https://app.example.com/'],
        secretsPrefix: 'sso-sync/prod/',
      },
      chaosFailureRate: 0.2,
      region: 'eu-west-1',
    });
  });

  it('refuses a groups attribute that is not a custom attribute', () => {
    expect(() => readConfig({ ...MINIMAL, GROUPS_ATTRIBUTE: 'groups' })).toThrow(/GROUPS_ATTRIBUTE/);
  });

  it('splits OKTA_EVENT_TYPES on commas, trimming spaces and dropping empty parts', () => {
    const config = readConfig({ ...MINIMAL, OKTA_EVENT_TYPES: ' user.lifecycle.deactivate , group.user_membership.remove,, ' });
    expect(config.oktaEventTypes).toEqual(new Set(['user.lifecycle.deactivate', 'group.user_membership.remove']));
  });

  it('refuses an OKTA_EVENT_TYPES that lists no type at all', () => {
    expect(configError({ ...MINIMAL, OKTA_EVENT_TYPES: ' , ' }).message).toContain('OKTA_EVENT_TYPES');
  });

  it('refuses a missing TABLE_NAME with a ConfigError that names it', () => {
    const error = configError({});
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('TABLE_NAME');
  });

  it.each(['1.5', 'sixty', '-1'])('refuses CONFIG_CACHE_SECONDS=%j with a ConfigError that names it', (value) => {
    const error = configError({ ...MINIMAL, CONFIG_CACHE_SECONDS: value });
    expect(error.message).toContain('CONFIG_CACHE_SECONDS');
    expect(error.message).not.toContain('TABLE_NAME');
  });

  it('names every bad variable in one error', () => {
    const error = configError({ CONFIG_CACHE_SECONDS: 'x', MAX_WEBHOOK_BODY_BYTES: '0' });
    for (const name of ['TABLE_NAME', 'CONFIG_CACHE_SECONDS', 'MAX_WEBHOOK_BODY_BYTES']) expect(error.message).toContain(name);
  });

  it('refuses a DYNAMODB_ENDPOINT that is not a URL', () => {
    expect(configError({ ...MINIMAL, DYNAMODB_ENDPOINT: 'localhost' }).message).toContain('DYNAMODB_ENDPOINT');
  });

  it('counts an empty-string variable as unset, so the default applies', () => {
    const config = readConfig({
      ...MINIMAL,
      DYNAMODB_ENDPOINT: '',
      OKTA_EVENT_TYPES: '',
      CONFIG_CACHE_SECONDS: '',
      MAX_WEBHOOK_BODY_BYTES: '',
    });
    expect(config.dynamoEndpoint).toBeUndefined();
    expect(config.oktaEventTypes.size).toBe(8);
    expect(config.configCacheMs).toBe(60_000);
    expect(config.maxWebhookBodyBytes).toBe(1024 * 1024);
  });

  it('counts an empty TABLE_NAME as missing', () => {
    expect(configError({ TABLE_NAME: '' }).message).toContain('TABLE_NAME');
  });

  it('ignores variables it does not know', () => {
    expect(readConfig({ ...MINIMAL, PATH: '/usr/bin', HOME: '/root' }).tableName).toBe('sso-sync-dev');
  });
});
