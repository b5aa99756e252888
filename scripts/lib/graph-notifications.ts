/** Microsoft Graph change notifications for the demo seed's Entra connection, as Graph posts them (load and chaos runs). */
export const DEMO_ENTRA = {
  connectionId: 'demo-entra',
  accountId: 'demo-entra-account',
  tenantId: '00000000-0000-4000-8000-0000000d0001',
  usersSubscriptionId: '00000000-0000-4000-8000-0000000d5001',
  groupsSubscriptionId: '00000000-0000-4000-8000-0000000d5002',
  /** The group that grants the account Author (the seed's Entra users are in it). */
  authorGroupId: '00000000-0000-4000-8000-0000000d2001',
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

/**
 * One notification on the demo groups subscription that member `objectId` left group `groupId`,
 * or was added to it, in `members@delta` as public captures show it (test/fixtures/README.md):
 * `{"id", "@removed": "deleted"}` for a removal, `{"id"}` for an addition.
 */
export function graphGroupMemberNotification(groupId: string, objectId: string, change: 'removed' | 'added') {
  return {
    value: [
      {
        changeType: 'updated',
        clientState: DEMO_ENTRA.clientState,
        resource: `Groups/${groupId}`,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.Group',
          '@odata.id': `Groups/${groupId}`,
          id: groupId,
          organizationId: DEMO_ENTRA.tenantId,
          'members@delta': [change === 'removed' ? { id: objectId, '@removed': 'deleted' } : { id: objectId }],
        },
        subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
        subscriptionId: DEMO_ENTRA.groupsSubscriptionId,
        tenantId: DEMO_ENTRA.tenantId,
      },
    ],
  };
}
