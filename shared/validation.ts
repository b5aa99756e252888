/**
 * English messages for zod/mini, which ships none (they are what a 400 says), and one way
 * to turn a validation failure into a short, path-first sentence.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

/** ["data", "events", 0, "uuid"] → "data.events[0].uuid" */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
    '',
  );
}

/** Each issue as "path: message". (z.core.toDotPath would do, but touching z.core pulls ~400 KB into every bundle.) */
export function issueLines(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((issue) => `${issue.path.length > 0 ? `${formatPath(issue.path)}: ` : ''}${issue.message}`);
}

export function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }, limit = 3): string {
  return issueLines(error.issues.slice(0, limit)).join('; ');
}
