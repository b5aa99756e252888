/** Secrets in moto's Secrets Manager. Imports nothing that reads the configuration, so any test may import it first. */
import { CreateSecretCommand, GetSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { registerSecret } from './log-scan.js';

/**
 * The Graph app's client secret under this name in moto's Secrets Manager: created with `wanted`
 * unless another test file already made it (moto is shared by the whole run). Register the value
 * returned, not `wanted`, with the fake Graph.
 */
export async function graphAppSecret(secretRef: string, wanted: string): Promise<string> {
  const secrets = new SecretsManagerClient({
    endpoint: process.env.SECRETS_MANAGER_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    registerSecret(wanted);
    await secrets.send(new CreateSecretCommand({ Name: secretRef, SecretString: wanted }));
    return wanted;
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    const existing = (await secrets.send(new GetSecretValueCommand({ SecretId: secretRef }))).SecretString ?? '';
    registerSecret(existing);
    return existing;
  }
}
