/**
 * Reads the Graph app's client secret from AWS Secrets Manager. The table holds only the
 * secret's name or ARN; the value lives in this container's memory for a short time, so a
 * rotated secret is picked up within CONFIG_CACHE_SECONDS.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { clientOptions, config } from '../config.js';
import { withInjectedFaults } from '../injected-faults.js';
import { cached } from '../store/cache.js';

const { secretsManagerEndpoint, configCacheMs } = config();

export const secretsClient = withInjectedFaults(new SecretsManagerClient(clientOptions(secretsManagerEndpoint)));

export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

async function readSecret(secretRef: string): Promise<string> {
  const { SecretString } = await secretsClient.send(new GetSecretValueCommand({ SecretId: secretRef }));
  if (!SecretString) throw new SecretUnavailableError(`the secret ${secretRef} has no string value`);
  return SecretString.trim();
}

export const secretValue = cached(configCacheMs, readSecret);

/** Stores a new secret under this name and returns its ARN (what the table keeps as the secret's ref). */
export async function storeNewSecret(name: string, value: string, description: string): Promise<string> {
  const { ARN } = await secretsClient.send(new CreateSecretCommand({ Name: name, SecretString: value, Description: description }));
  return ARN ?? name;
}

/** Deletes a secret at once, without the recovery window (for undoing a setup that failed); true if it was there. */
export async function deleteSecretNow(secretRef: string): Promise<boolean> {
  try {
    await secretsClient.send(new DeleteSecretCommand({ SecretId: secretRef, ForceDeleteWithoutRecovery: true }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}
