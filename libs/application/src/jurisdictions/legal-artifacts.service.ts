import { createHash, randomUUID } from 'node:crypto';
import {
  invalidArgument,
  type Jurisdiction,
  LEGAL_ARTIFACTS_STREAM_PREFIX,
  legalArtifactEventCodec,
  type LegalArtifactInput,
  type LegalArtifactRegistration,
  legalArtifactsDecider,
  type LegalArtifactState,
  MAX_LEGAL_ARTIFACT_BYTES,
  parseArtifactUrl,
  parseJurisdiction,
  parseLegalArtifactId,
  parseSha256,
  parseWithdrawalReason,
  validateLegalArtifactFields,
  validateUploadDescription,
} from '@kms/domain';
import type { EventStore } from '@kms/event-store';
import { loadAggregate } from '../changes/handle-command';
import type { OperationFacts } from '../crypto/crypto.service';
import type { Clock } from '../ports/audit-log.port';

/** The stream of a jurisdiction's legal appendix. */
export function legalArtifactsStreamId(jurisdiction: Jurisdiction): string {
  return `${LEGAL_ARTIFACTS_STREAM_PREFIX}${jurisdiction}`;
}

/** A registration's document: uploaded bytes (hashed here) or an https reference with the SHA-256 its registrant states. */
export type LegalArtifactDocument = { upload: Buffer; mediaType: unknown; fileName?: unknown } | { url: unknown; sha256: unknown };

/** A recorded change and the event whose ledger leaf proves it (`GET /v1/ledger/events/inclusion?recordId=`). */
export interface LegalArtifactChange {
  artifact: LegalArtifactState;
  /** The id of the event that recorded it: its record id in the ledger's `events` log. */
  ledgerRecordId: string;
}

/**
 * The legal appendix of each configured jurisdiction (docs/jurisdictions.md): DTIAs, provider
 * statements, emergency access plans... registered by upload (the SHA-256 is computed here from
 * the bytes, which are not kept) or by https reference (the SHA-256 is the registrant's statement:
 * nothing is fetched). Every change is an event of the stream `legal-artifacts-<jurisdiction>`, and
 * so a leaf of the ledger's `events` log. `store` is the call-scoped store: appends commit with the
 * call's audit record.
 */
export class LegalArtifactService {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    /** The jurisdictions of the configuration (HSM instances and master keys). */
    private readonly configured: () => readonly Jurisdiction[],
  ) {}

  /** A jurisdiction of the configuration; the error names `field` and lists the configured ones. */
  configuredJurisdiction(value: unknown, field = 'jurisdiction'): Jurisdiction {
    const j = parseJurisdiction(value, field);
    const all = this.configured();
    if (!all.includes(j)) throw invalidArgument(field, `"${j}" is not a configured jurisdiction (${all.join(', ') || 'none'})`);
    return j;
  }

  /** Register an artifact; with `supersedes`, the replaced artifact becomes SUPERSEDED in the same change. */
  async register(input: LegalArtifactInput, document: LegalArtifactDocument, actor: string, correlationId: string, facts: OperationFacts = {}): Promise<LegalArtifactChange> {
    const fields = validateLegalArtifactFields(input);
    const jurisdiction = this.configuredJurisdiction(fields.jurisdiction);
    let described: Pick<LegalArtifactRegistration, 'sha256' | 'hashOrigin' | 'url' | 'size' | 'mediaType' | 'fileName'>;
    if ('upload' in document) {
      if (document.upload.length === 0) throw invalidArgument('content', 'is empty: upload the document\'s bytes');
      if (document.upload.length > MAX_LEGAL_ARTIFACT_BYTES) throw invalidArgument('content', `must be at most ${MAX_LEGAL_ARTIFACT_BYTES} bytes (10 MiB)`);
      const { mediaType, fileName } = validateUploadDescription(document.mediaType, document.fileName);
      described = {
        sha256: createHash('sha256').update(document.upload).digest('hex'),
        hashOrigin: 'COMPUTED_FROM_UPLOAD',
        size: document.upload.length,
        mediaType,
        ...(fileName ? { fileName } : {}),
      };
    } else {
      described = { url: parseArtifactUrl(document.url), sha256: parseSha256(document.sha256), hashOrigin: 'STATED_BY_REGISTRANT' };
    }
    const registration: LegalArtifactRegistration = { artifactId: randomUUID(), ...fields, jurisdiction, ...described };
    facts.details = {
      jurisdiction,
      artifactId: registration.artifactId,
      kind: registration.kind,
      sha256: registration.sha256,
      hashOrigin: registration.hashOrigin,
      ...(registration.supersedes ? { supersedes: registration.supersedes } : {}),
    };
    const recorded = await this.decide(jurisdiction, { type: 'RegisterLegalArtifact', data: registration, metadata: { now: this.clock.now(), actor, correlationId } });
    facts.details = { ...facts.details, ledgerRecordId: recorded.ids[0] as string };
    return { artifact: recorded.artifact(registration.artifactId), ledgerRecordId: recorded.ids[0] as string };
  }

  /** Withdraw an ACTIVE artifact, with a reason: it stays listed as WITHDRAWN. */
  async withdraw(artifactIdRaw: unknown, reasonRaw: unknown, actor: string, correlationId: string, facts: OperationFacts = {}): Promise<LegalArtifactChange> {
    const artifactId = parseLegalArtifactId(artifactIdRaw, 'artifactId');
    const reason = parseWithdrawalReason(reasonRaw);
    facts.details = { artifactId };
    const jurisdiction = await this.jurisdictionOf(artifactId);
    facts.details = { artifactId, jurisdiction };
    const recorded = await this.decide(jurisdiction, { type: 'WithdrawLegalArtifact', data: { artifactId, reason }, metadata: { now: this.clock.now(), actor, correlationId } });
    facts.details = { ...facts.details, ledgerRecordId: recorded.ids[0] as string };
    return { artifact: recorded.artifact(artifactId), ledgerRecordId: recorded.ids[0] as string };
  }

  /** The configured jurisdictions, sorted. */
  jurisdictions(): Jurisdiction[] {
    return [...new Set(this.configured())].sort();
  }

  /** A jurisdiction's artifacts (every status), in registration order, each with the id of the event that registered it (its ledger record id). */
  async list(jurisdiction: Jurisdiction): Promise<Array<LegalArtifactState & { ledgerRecordId: string }>> {
    const { events } = await this.store.readStream(legalArtifactsStreamId(jurisdiction));
    const state = events.map((e) => legalArtifactEventCodec.parse(e)).reduce((s, e) => legalArtifactsDecider.evolve(s, e), legalArtifactsDecider.initialState());
    const registeredBy = new Map(events.filter((e) => e.type === 'LegalArtifactRegistered').map((e) => [String(e.data['artifactId']), e.id]));
    return state.artifacts.map((a) => ({ ...a, ledgerRecordId: registeredBy.get(a.artifactId) as string }));
  }

  private async jurisdictionOf(artifactId: string): Promise<Jurisdiction> {
    for (const j of this.jurisdictions()) if ((await this.list(j)).some((a) => a.artifactId === artifactId)) return j;
    throw invalidArgument('artifactId', `no legal artifact ${artifactId} is registered in a configured jurisdiction`);
  }

  /** Decide on the jurisdiction's stream and append (through the call-scoped store); the events' ids in order. */
  private async decide(jurisdiction: Jurisdiction, command: Parameters<typeof legalArtifactsDecider.decide>[0]): Promise<{ ids: string[]; artifact: (id: string) => LegalArtifactState }> {
    const streamId = legalArtifactsStreamId(jurisdiction);
    const { state, version } = await loadAggregate(this.store, legalArtifactsDecider, legalArtifactEventCodec, streamId);
    const events = legalArtifactsDecider.decide(command, state);
    const stored = events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data } as Record<string, unknown>, metadata: { ...e.metadata } as Record<string, unknown> }));
    await this.store.appendToStream(streamId, stored, { expectedVersion: version });
    const next = events.reduce((s, e) => legalArtifactsDecider.evolve(s, e), state);
    return { ids: stored.map((e) => e.id), artifact: (id) => next.artifacts.find((a) => a.artifactId === id) as LegalArtifactState };
  }
}
