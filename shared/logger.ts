import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger for every function. Callers set the IdP event id as the
 * correlation id. Never pass secrets, tokens, headers or whole payloads; mask emails
 * with maskEmail from shared/domain/privacy.
 */
export const logger = new Logger({ serviceName: 'sso-sync' });
