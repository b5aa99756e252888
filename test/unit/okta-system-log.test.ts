import { describe, expect, it } from 'vitest';
import { firstPollUrl, isSystemLogUrlOf, nextLinkOf } from '../../shared/idp/okta-system-log.js';

const ORG = 'https://dev-123.okta.com';

describe('the System Log next link', () => {
  it('is the rel="next" target of Okta\'s Link header, whatever the order', () => {
    const next = `${ORG}/api/v1/logs?sortOrder=ASCENDING&after=1720000000000_1`;
    expect(nextLinkOf(`<${ORG}/api/v1/logs?since=x>; rel="self", <${next}>; rel="next"`)).toBe(next);
    expect(nextLinkOf(`<${next}>; rel="next", <${ORG}/api/v1/logs?since=x>; rel="self"`)).toBe(next);
  });

  it('is missing when Okta sent none, or only a self link', () => {
    expect(nextLinkOf(null)).toBeUndefined();
    expect(nextLinkOf(`<${ORG}/api/v1/logs>; rel="self"`)).toBeUndefined();
  });
});

describe('where the API token may go', () => {
  it('only to the System Log of the connection\'s own org', () => {
    expect(isSystemLogUrlOf(ORG, `${ORG}/api/v1/logs?after=abc`)).toBe(true);
    expect(isSystemLogUrlOf(ORG, 'https://evil.example.com/api/v1/logs?after=abc')).toBe(false);
    expect(isSystemLogUrlOf(ORG, `http://dev-123.okta.com/api/v1/logs`)).toBe(false);
    expect(isSystemLogUrlOf(ORG, `${ORG}/api/v1/users`)).toBe(false);
    expect(isSystemLogUrlOf(ORG, 'not a url')).toBe(false);
  });
});

describe('the first polling request', () => {
  it('has since, ASCENDING, the event types as a filter and a limit, and no until', () => {
    const url = new URL(firstPollUrl(ORG, { since: new Date('2026-01-01T00:00:00Z'), eventTypes: ['user.lifecycle.deactivate', 'group.user_membership.remove'], limit: 100 }));
    expect(url.origin + url.pathname).toBe(`${ORG}/api/v1/logs`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      since: '2026-01-01T00:00:00.000Z',
      sortOrder: 'ASCENDING',
      filter: 'eventType eq "user.lifecycle.deactivate" or eventType eq "group.user_membership.remove"',
      limit: '100',
    });
  });
});
