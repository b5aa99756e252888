/** Microsoft Graph change notifications for the demo seed's Entra connection, as Graph posts them (load and chaos runs). */
export const DEMO_ENTRA = {
  connectionId: 'demo-entra',
  accountId: 'demo-entra-account',
  tenantId: '00000000-0000-4000-8000-0000000d0001',
  usersSubscriptionId: '00000000-0000-4000-8000-0000000d5001',
  clientState: 'dev-clientstate-0000000000000000',
} as const;

/** One notification about user `objectId` on the demo users subscription ('deleted', or 'updated' for a disable). */
export function graphUserNotification(objectId: string, changeType: 'deleted' | 'updated') {
  return {
    value: [
      {
        changeType,
        clientState: DEMO_ENTRA.clientState,
        resource: `Users/${objectId}`,
        resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': `Users/${objectId}`, id: objectId, organizationId: DEMO_ENTRA.tenantId },
        subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
        subscriptionId: DEMO_ENTRA.usersSubscriptionId,
        tenantId: DEMO_ENTRA.tenantId,
      },
    ],
  };
}
