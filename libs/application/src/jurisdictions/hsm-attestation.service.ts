import type { HsmDeclaration, HsmIdentity } from '@kms/domain';
import { buildHsmAttestationBundle, type HsmAttestationBundle, hsmAttestationFacts, type HsmTimelineFact } from '@kms/evidence';
import type { AttestationSigner } from '../ports/key-backend.port';
import { type HsmTimelineEntry, HsmTimelineService } from './hsm-timeline.service';

/** An HSM instance as the attestation service needs it: its declaration, what it reports now, its own attestation key. */
export interface AttestableHsm {
  declaration: HsmDeclaration;
  identity(): Promise<HsmIdentity>;
  signer: AttestationSigner;
}

/** A bundle and the timeline event that anchors its hash in the ledger. */
export interface IssuedHsmAttestation extends HsmAttestationBundle {
  /** The HsmAttestationBundleIssued event (its id is the ledger leaf's record id). */
  anchor: HsmTimelineEntry;
}

function timelineFact(e: HsmTimelineEntry): HsmTimelineFact | undefined {
  const at = String(e.metadata['occurredAt'] ?? e.recordedAt.toISOString());
  if (e.type === 'HsmInstanceRegistered') {
    const identity = e.data['identity'] as HsmIdentity;
    const d = e.data['declaration'] as HsmDeclaration;
    return { at, event: e.type, summary: `${d.jurisdiction}/${d.environment}: ${identity.manufacturer} ${identity.model} serial ${identity.serialNumber} firmware ${identity.firmwareVersion}` };
  }
  if (e.type === 'HsmIdentityChanged') {
    const changes = e.data['changes'] as { field: string; before: string; after: string }[];
    return { at, event: e.type, summary: changes.map((c) => `${c.field}: ${c.before} -> ${c.after}`).join('; ') };
  }
  return undefined;
}

/**
 * One attestation bundle per HSM instance (GET /v1/evidence/hsms/{id}): records what the module
 * reports now on its timeline (a change becomes HsmIdentityChanged first), builds the facts from the
 * timeline, has the instance's own attestation key sign them, and appends the bundle's SHA-256 to the
 * event log (HsmAttestationBundleIssued), whose ledger leaf proves it later. Issuing again with nothing
 * changed gives the same facts.
 */
export class HsmAttestationService {
  constructor(
    private readonly instances: (id: string) => AttestableHsm,
    private readonly timeline: HsmTimelineService,
  ) {}

  async issue(instanceId: string, actor: string): Promise<IssuedHsmAttestation> {
    const hsm = this.instances(instanceId);
    await this.timeline.observe(hsm.declaration, await hsm.identity());
    const entries = await this.timeline.timeline(instanceId);
    const facts = entries.map(timelineFact).filter((f): f is HsmTimelineFact => f !== undefined);
    const recorded = [...entries].reverse().find((e) => e.type === 'HsmInstanceRegistered' || e.type === 'HsmIdentityChanged');
    if (!recorded) throw new Error(`HSM ${instanceId} has no recorded identity`);
    const identity = recorded.data['identity'] as HsmIdentity;
    const { instanceId: id, jurisdiction, provider, environment, certifications } = hsm.declaration;
    const bundle = await buildHsmAttestationBundle(hsmAttestationFacts({ id, jurisdiction, provider, environment, certifications }, identity, facts), hsm.signer);
    const anchor = await this.timeline.recordBundle(
      instanceId,
      { bundleSha256: bundle.bundleSha256, statementSha256: bundle.statementSha256, attestationKeyFingerprint: bundle.attestationKeyFingerprint },
      actor,
    );
    return { ...bundle, anchor };
  }
}
