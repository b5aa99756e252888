/** Admin routes for operating the pipeline in bulk, to be listed in adminRoutes(). */
import type { AdminPrincipal } from '../http/admin-auth.js';
import type { Route } from '../http/routes.js';
import { replayEvents } from './admin-events.js';

/** POST /admin/events/replay: 202, the replay is under way through the stream. */
export const replayEventsRoute: Route<AdminPrincipal> = {
  method: 'POST',
  path: '/admin/events/replay',
  handle: async ({ body }) => ({ status: 202, body: await replayEvents(body) }),
};
