/** Every admin API route: what it reads from the request and which application function answers it. */
import type { AdminPrincipal } from '../http/admin-auth.js';
import { ValidationError } from '../http/errors.js';
import type { Route } from '../http/routes.js';
import { getEvent, listEvents, replayEvent } from './admin-events.js';
import { changeMembership, findUsers, userProfile } from './admin-users.js';
import { createSsoProviders, type SsoProviderSettings } from './admin-sso-providers.js';
import { connectionRoutes, type ConnectionSettings } from './admin-connections.js';
import { replayEventsRoute } from './admin-ops-routes.js';
import { accountRoutes } from './admin-accounts.js';

export type AdminRoute = Route<AdminPrincipal>;

const ok = (body: unknown) => ({ status: 200, body });

export function adminRoutes(settings: { disableOnDeprovision: boolean; ssoProviders: SsoProviderSettings; connections: ConnectionSettings }): AdminRoute[] {
  return [
    ...connectionRoutes(settings.connections),
    ...accountRoutes({ userPoolId: settings.ssoProviders.userPoolId }),
    {
      method: 'POST',
      path: '/admin/sso-providers',
      handle: async ({ body, principal }) => ({ status: 201, body: await createSsoProviders(body, principal, settings.ssoProviders) }),
    },
    {
      method: 'GET',
      path: '/admin/users',
      handle: async ({ query }) => {
        const email = query.email?.trim();
        if (!email || !email.includes('@') || email.length > 254) throw new ValidationError('email: give the email address to look up (?email=...)');
        return ok(await findUsers(email));
      },
    },
    { method: 'GET', path: '/admin/users/{userId}', handle: async ({ params }) => ok(await userProfile(params.userId ?? '')) },
    {
      method: 'POST',
      path: '/admin/users/{userId}/memberships/{accountId}/restore',
      handle: async ({ params, principal }) => ok(await changeMembership(params.userId ?? '', params.accountId ?? '', 'restore', principal, settings)),
    },
    {
      method: 'POST',
      path: '/admin/users/{userId}/memberships/{accountId}/remove',
      handle: async ({ params, principal }) => ok(await changeMembership(params.userId ?? '', params.accountId ?? '', 'remove', principal, settings)),
    },
    { method: 'GET', path: '/admin/events', handle: async ({ query }) => ok(await listEvents(query)) },
    replayEventsRoute,
    { method: 'GET', path: '/admin/events/{connectionId}/{eventId}', handle: async ({ params }) => ok(await getEvent(params.connectionId ?? '', params.eventId ?? '')) },
    {
      method: 'POST',
      path: '/admin/events/{connectionId}/{eventId}/replay',
      handle: async ({ params }) => ({ status: 202, body: await replayEvent(params.connectionId ?? '', params.eventId ?? '') }),
    },
  ];
}
