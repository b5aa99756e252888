/**
 * The Cognito user pool triggers of sign-in mapping: PreSignUp (external provider),
 * PostConfirmation, PostAuthentication and PreTokenGeneration (v1, v2, v3). Native users
 * pass through untouched. A thrown error denies the sign-in and Cognito shows its message,
 * so only messages meant for the person leave this function.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { preTokenGroupOverride } from '../shared/domain/admission.js';
import { providerNameFromUserName, ProvenanceError } from '../shared/domain/provenance.js';
import { memberGroupsInDirectory } from '../shared/app/directory-check.js';
import { checkSignUp, groupsForToken, recordSignIn, SignInDeniedError } from '../shared/app/sign-in-mapping.js';
import { cachedSignInConfig } from '../shared/store/sso-configs.js';
import { countSignInDecision, type SignInTrigger } from '../shared/metrics.js';

const { groupsAttribute, objectIdAttribute, configCacheMs } = config();
const settings = { groupsAttribute, objectIdAttribute, memberGroupsInDirectory, ...cachedSignInConfig(configCacheMs) };

const SIGN_IN = new Set(['PostConfirmation_ConfirmSignUp', 'PostAuthentication_Authentication']);
/** Token sources where the user has just authenticated; any other (refresh, or one Cognito adds later) is judged as a refresh. */
const FRESH_TOKEN_SOURCES = new Set(['TokenGeneration_HostedAuth', 'TokenGeneration_Authentication', 'TokenGeneration_NewPasswordChallenge', 'TokenGeneration_AuthenticateDevice']);

/**
 * Native users pass through before any validation of ours, so an event shape we do not expect
 * never blocks them. Read leniently: only what tells a federated user from a native one.
 */
function isFederatedSignIn(raw: unknown): boolean {
  const event = (typeof raw === 'object' && raw !== null ? raw : {}) as { triggerSource?: unknown; userName?: unknown; request?: { userAttributes?: { identities?: unknown } } };
  const source = typeof event.triggerSource === 'string' ? event.triggerSource : '';
  if (source === 'PreSignUp_ExternalProvider') return typeof event.userName === 'string' && providerNameFromUserName(event.userName) !== undefined;
  if (!SIGN_IN.has(source) && !source.startsWith('TokenGeneration_')) return false;
  const identities = event.request?.userAttributes?.identities;
  // Native users have no identities; a malformed one is judged (and refused) by the full path.
  return typeof identities === 'string' && identities.trim() !== '';
}

const triggerEventSchema = z.looseObject({
  version: z.string(),
  triggerSource: z.string(),
  userPoolId: z.string(),
  userName: z.string(),
  request: z.looseObject({
    userAttributes: z.record(z.string(), z.string()),
    groupConfiguration: z.optional(
      z.looseObject({
        groupsToOverride: z.optional(z.array(z.string())),
        iamRolesToOverride: z.optional(z.array(z.string())),
        preferredRole: z.optional(z.nullable(z.string())),
      }),
    ),
  }),
  response: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
});

type TriggerEvent = z.infer<typeof triggerEventSchema>;

function triggerOf(raw: unknown): SignInTrigger {
  const source = (raw as { triggerSource?: unknown } | null)?.triggerSource;
  if (source === 'PreSignUp_ExternalProvider') return 'signUp';
  return typeof source === 'string' && SIGN_IN.has(source) ? 'signIn' : 'token';
}

async function cognitoTrigger(raw: unknown): Promise<unknown> {
  if (!isFederatedSignIn(raw)) return raw;
  const event: TriggerEvent = triggerEventSchema.parse(raw);
  const user = { userPoolId: event.userPoolId, userName: event.userName, userAttributes: event.request.userAttributes };
  const source = event.triggerSource;
  if (source === 'PreSignUp_ExternalProvider') await checkSignUp(user, settings);
  else if (SIGN_IN.has(source)) await recordSignIn(user, settings, { firstSignIn: source === 'PostConfirmation_ConfirmSignUp' });
  else if (source.startsWith('TokenGeneration_')) {
    const current = event.request.groupConfiguration ?? {};
    const groups = await groupsForToken(user, current.groupsToOverride ?? [], !FRESH_TOKEN_SOURCES.has(source), settings);
    if (groups) event.response = { ...(event.response ?? {}), ...preTokenGroupOverride(event.version, groups, current) };
  }
  countSignInDecision(triggerOf(event), 'admitted');
  return event;
}

/** Only refusals written for the person reach Cognito; anything else becomes a plain retry message. */
function personFacingErrors(): middy.MiddlewareObj<unknown, unknown> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof SignInDeniedError || error instanceof ProvenanceError) {
        countSignInDecision(triggerOf(request.event), 'denied');
        logger.warn('sign-in denied', { reason: error.message });
        throw new Error(error.message);
      }
      countSignInDecision(triggerOf(request.event), 'error');
      logger.error('sign-in trigger failed', { error: error as Error });
      throw new Error('Sign-in is temporarily unavailable. Please try again in a moment.');
    },
  };
}

export const handler = middy<unknown, unknown, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(personFacingErrors())
  .handler(cognitoTrigger);
