/**
 * English messages for zod/mini, which ships none (they are what a 400 says), and one way
 * to turn a validation failure into a short, path-first sentence.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

export function describeIssues(error: z.core.$ZodError, limit = 3): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length > 0 ? `${z.core.toDotPath(issue.path)}: ` : ''}${issue.message}`)
    .join('; ');
}
