import { type ChangeCommitter, type Clock, HsmTimelineService } from '@kms/application';
import type { EventStore } from '@kms/event-store';
import { composeHsmInstances, type HsmInstanceRegistry, type KmsHsms } from '@kms/key-backend-pkcs11';

/** The HSMs of the key service (composeHsmInstances, shared with the audit projector). */
export type KeyServiceHsms = KmsHsms;
export { composeHsmInstances };

/**
 * The per-HSM timeline at start: what each instance reports now, recorded when it is new or changed
 * (HsmInstanceRegistered / HsmIdentityChanged), each change committed with its audit record through
 * the KMS's change committer.
 */
export async function recordHsmIdentities(registry: HsmInstanceRegistry, store: EventStore, committer: ChangeCommitter, clock: Clock): Promise<{ timeline: HsmTimelineService; recorded: string[] }> {
  const timeline = new HsmTimelineService(store, committer, clock);
  const recorded: string[] = [];
  for (const { declaration, identity } of await registry.identities()) {
    for (const e of await timeline.observe(declaration, identity)) recorded.push(`${declaration.instanceId}: ${e.type}`);
  }
  return { timeline, recorded };
}
