import { createHash, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import {
  custodianDecider,
  custodianEventCodec,
  custodianStreamId,
  escrowCeremonyDecider,
  escrowCeremonyEventCodec,
  escrowCeremonyStreamId,
  escrowPolicyDecider,
  escrowPolicyEventCodec,
  escrowPolicyStreamId,
  invalidArgument,
  keyDecider,
  keyEventCodec,
  keyStreamId,
  KmsError,
  pendingDeclarations,
  type CommandMetadata,
  type EscrowCeremonyState,
  type EscrowPolicyState,
  type KeyRecord,
  type ProtectionLevel,
} from '@kms/domain';
import {
  canonicalJsonBytes,
  DESTRUCTION_DECLARATION_TYPE,
  escrowKeyFingerprint,
  openSubmission,
  packageFingerprint,
  publicKeyOf,
  RECONSTRUCTION_TRANSCRIPT_TYPE,
  sameDigest,
  SEALING_TRANSCRIPT_TYPE,
  sealShare,
  sha256Hex,
  shareCommitment,
  verifyCanonicalEd25519,
  type DestructionDeclaration,
  type ReconstructionTranscript,
  type SealedBox,
  type SealedPackage,
  type SealingTranscript,
  type SignedDestructionDeclaration,
} from '@kms/evidence';
import type { EventStore } from '@kms/event-store';
import { handleCommand, loadAggregate } from '../changes/handle-command';
import { type ChangeContext, commandMetadata } from '../keys/key-lifecycle.service';
import type { Clock } from '../ports/audit-log.port';
import type { AttestationSigner, KeyBackend, KeyBackends, VersionHandle } from '../ports/key-backend.port';
import { afterCommit, keepWritesOnFailure } from '../changes/call-transaction';

/** Hours custodians have to declare a superseded package destroyed, unless the key's escrow policy says otherwise. */
export const DEFAULT_DECLARATION_WINDOW_HOURS = 72;
/** How long an emergency unseal lets the key be used. */
export const DEFAULT_UNSEAL_WINDOW_MINUTES = 60;
/** How long a reconstruction accepts shares. */
export const DEFAULT_RECONSTRUCTION_TTL_MINUTES = 60;

/**
 * Reads a break-glass version's material for splitting. Only the escrow service calls it, inside a
 * sealing ceremony; the caller zeroes the buffer.
 */
export interface EscrowMaterialSource {
  exportForEscrow(h: EscrowedVersionHandle): Promise<Buffer>;
  /** The sealing ceremony of the version is recorded: a transfer copy kept for it (HSM versions) can go. */
  escrowSealed?(h: EscrowedVersionHandle): Promise<void>;
  /**
   * A fresh X25519 ceremony key for a reconstruction; the backend keeps its private key only wrapped
   * (master key) until discarded, so an open reconstruction survives a restart and is seen by replicas.
   */
  createEscrowCeremonyKey(req: { reconstructionId: string; keyId: string; version: number; expiresAt: Date }): Promise<{ publicKeySpki: Buffer }>;
  /** The unwrapped ceremony key of a reconstruction, or undefined when none is kept. */
  escrowCeremonyKey(reconstructionId: string): Promise<EscrowCeremonyKey | undefined>;
  /** Every kept ceremony key's reconstruction (no key material). */
  escrowCeremonyKeys(): Promise<Array<{ reconstructionId: string; keyId: string; version: number; expiresAt: Date }>>;
  /** Delete a ceremony key: the submissions encrypted to it can no longer be opened. Idempotent. */
  discardEscrowCeremonyKey(reconstructionId: string): Promise<void>;
}

/** A break-glass version's material, in the backend of its protection level. */
export type EscrowedVersionHandle = VersionHandle & { protectionLevel: ProtectionLevel };

/** Where reconstructions' ceremony keys are kept (the software backend, under the master key). */
export type EscrowCeremonyKeyStore = Omit<EscrowMaterialSource, 'exportForEscrow' | 'escrowSealed'>;

/**
 * The escrow material source over every configured backend: a version's material comes from the
 * backend of its protection level (software: unwrapped under the master key; HSM: the transfer copy
 * the module kept for the ceremony), and ceremony keys from `ceremonyKeys`.
 */
export function escrowMaterialFrom(backends: KeyBackends, ceremonyKeys: EscrowCeremonyKeyStore): EscrowMaterialSource {
  const backendOf = (h: EscrowedVersionHandle): KeyBackend & Required<Pick<KeyBackend, 'exportForEscrow'>> => {
    const backend = backends[h.protectionLevel];
    if (!backend?.exportForEscrow) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `protection_level: ${h.protectionLevel} break-glass keys cannot be escrowed here: no configured backend of that level can hand its material to a sealing ceremony`, 'protection_level');
    }
    return backend as KeyBackend & Required<Pick<KeyBackend, 'exportForEscrow'>>;
  };
  const handle = (h: EscrowedVersionHandle): VersionHandle => ({ keyId: h.keyId, version: h.version, algorithm: h.algorithm, materialRef: h.materialRef });
  return {
    exportForEscrow: (h) => backendOf(h).exportForEscrow(handle(h)),
    escrowSealed: async (h) => {
      await backendOf(h).escrowSealed?.(handle(h));
    },
    createEscrowCeremonyKey: (req) => ceremonyKeys.createEscrowCeremonyKey(req),
    escrowCeremonyKey: (id) => ceremonyKeys.escrowCeremonyKey(id),
    escrowCeremonyKeys: () => ceremonyKeys.escrowCeremonyKeys(),
    discardEscrowCeremonyKey: (id) => ceremonyKeys.discardEscrowCeremonyKey(id),
  };
}

/** A reconstruction's ceremony key, unwrapped for one call. */
export interface EscrowCeremonyKey {
  reconstructionId: string;
  keyId: string;
  version: number;
  expiresAt: Date;
  privateKey: KeyObject;
}


/** Destroys a superseded version through the key's own lifecycle (KeyLifecycleService.destroyEscrowedVersion). */
export interface EscrowedVersions {
  destroyEscrowedVersion(keyId: string, version: number, escrowCeremonyId: string, ctx: ChangeContext): Promise<{ key: KeyRecord; hsmObjectDestroyed: boolean }>;
}

export interface EscrowServiceOptions {
  store: EventStore;
  clock: Clock;
  attestation: AttestationSigner;
  material: EscrowMaterialSource;
  versions: EscrowedVersions;
  unsealWindowMinutes?: number;
  reconstructionTtlMinutes?: number;
}

/** What a person needs to see to know the escrow of a key version, without any secret. */
export interface EscrowStatus {
  keyId: string;
  version: number;
  ceremonyId: string;
  status: EscrowCeremonyState['status'];
  threshold: number;
  shareCount: number;
  custodians: string[];
  counterSigned: string[];
  pendingDeclarations: string[];
  declareBy: string | null;
  lastDrillAt: string | null;
  usableUntil: string | null;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const IDENTIFIER = /^[A-Za-z0-9._@-]{1,200}$/;

/**
 * Only the approval runner (DualAuthorization, once a second person approved a recorded request)
 * passes an approval id with its approvers; a caller naming an approver itself gets nothing done.
 */
function requireSecondPerson(ctx: ChangeContext, what: string): string[] {
  const approvers = (ctx.approvers ?? []).filter((a) => a !== ctx.actor);
  if (approvers.length === 0 || !ctx.approvalId) throw new KmsError('APPROVAL_REQUIRED', `${what} needs a second person's approval (dual authorization)`);
  return approvers;
}

/** A custodian's public keys as enrolled: checked once, before a request for approval is recorded too. */
function custodianKeyFingerprints(input: { encryptionPublicKey: string; signingPublicKey: string }): { encryptionKeyFingerprint: string; signingKeyFingerprint: string } {
  try {
    return {
      encryptionKeyFingerprint: sha256Hex(publicKeyOf(input.encryptionPublicKey, 'x25519', 'encryption_public_key').export({ format: 'der', type: 'spki' })),
      signingKeyFingerprint: sha256Hex(publicKeyOf(input.signingPublicKey, 'ed25519', 'signing_public_key').export({ format: 'der', type: 'spki' })),
    };
  } catch (e) {
    const message = (e as Error).message;
    throw invalidArgument(message.split(':')[0], message.slice(message.indexOf(':') + 2));
  }
}

function identifier(value: string, field: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) throw invalidArgument(field, 'must be 1-200 characters of letters, digits, . _ @ -');
  return value;
}

/**
 * Break-glass escrow: custodians, escrow policies, sealing ceremonies (Shamir k-of-n, one sealed
 * package per custodian, signed transcript), destruction declarations after a reseal, and
 * reconstructions (drills and dual-authorized emergency unseals). No share or material is ever
 * written to an event, log or error; events carry commitments and fingerprints.
 */
export class EscrowService {
  constructor(private readonly o: EscrowServiceOptions) {}

  private metadata(ctx: ChangeContext): CommandMetadata {
    return commandMetadata(ctx, this.o.clock.now());
  }

  /** Enrol a person as escrow custodian with their public keys. Dual-authorized. */
  async enrolCustodian(input: { identityId: string; encryptionPublicKey: string; signingPublicKey: string }, ctx: ChangeContext): Promise<void> {
    requireSecondPerson(ctx, 'enrolling an escrow custodian');
    const identityId = identifier(input.identityId, 'identity_id');
    const { encryptionKeyFingerprint, signingKeyFingerprint } = custodianKeyFingerprints(input);
    await handleCommand(this.o.store, custodianDecider, custodianEventCodec, custodianStreamId(identityId), () => ({
      command: {
        type: 'EnrolCustodian',
        data: { identityId, encryptionPublicKey: input.encryptionPublicKey, signingPublicKey: input.signingPublicKey, encryptionKeyFingerprint, signingKeyFingerprint },
        metadata: this.metadata(ctx),
      },
    }));
  }

  /** Check a custodian enrolment could run now (before its approval request is recorded). */
  checkEnrolment(input: { identityId: string; encryptionPublicKey: string; signingPublicKey: string }): void {
    identifier(input.identityId, 'identity_id');
    custodianKeyFingerprints(input);
  }

  /** Check an escrow policy could be set now: a break-glass key, enrolled custodians, k >= 2, n >= k. */
  async checkPolicy(input: { keyId: string; threshold: number; custodians: string[]; witness: string; declarationWindowHours?: number }): Promise<void> {
    await this.breakGlassKey(input.keyId);
    if (!Array.isArray(input.custodians)) throw invalidArgument('custodians', 'must be a list of identity ids');
    input.custodians.forEach((c) => identifier(c, 'custodians'));
    for (const c of input.custodians) await this.custodian(c);
    identifier(input.witness, 'witness');
    if (!Number.isInteger(input.threshold) || input.threshold < 2) throw invalidArgument('threshold', 'must be at least 2');
    if (input.custodians.length < input.threshold) throw invalidArgument('custodians', `must name at least threshold (${input.threshold}) custodians`);
  }

  /** Check an emergency unseal could be opened now: the version was sealed. */
  async checkUnseal(keyId: string, version: number): Promise<void> {
    await this.breakGlassKey(keyId);
    await this.ceremony(keyId, version);
  }

  /**
   * The open (not completed, not expired) reconstructions of a version, with the ceremony key
   * custodians encrypt to: from the ceremony's events, so any replica and a restarted service see them.
   */
  async openReconstructionsOf(keyId: string, version: number): Promise<Array<{ reconstructionId: string; ceremonyPublicKey: string; purpose: 'DRILL' | 'UNSEAL'; expiresAt: string }>> {
    const now = this.o.clock.now().getTime();
    const opened = (await this.ceremonyEvents(keyId, version)).flatMap((e) => (e.type === 'ReconstructionOpened' ? [e.data] : []));
    const { state } = await loadAggregate(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version));
    const open = state.reconstructions.filter((r) => !r.completed && new Date(r.expiresAt).getTime() > now);
    const out = [];
    for (const r of open) {
      const data = opened.find((o) => o.reconstructionId === r.reconstructionId);
      const ceremonyPublicKey = data?.ceremonyPublicKey ?? (await this.ceremonyKeyOf(r.reconstructionId).then((k) => ceremonyPublicKeyOf(k.privateKey)).catch(() => undefined));
      if (ceremonyPublicKey) out.push({ reconstructionId: r.reconstructionId, ceremonyPublicKey, purpose: r.purpose, expiresAt: r.expiresAt });
    }
    return out;
  }

  /** The key and version an open reconstruction is for (its ceremony key is kept until it completes or expires). */
  async reconstructionTarget(reconstructionId: string): Promise<{ keyId: string; version: number }> {
    const k = await this.ceremonyKeyOf(reconstructionId);
    return { keyId: k.keyId, version: k.version };
  }

  /** How many reconstructions have a ceremony key kept (open, or expired and not swept yet). */
  async keptCeremonyKeys(): Promise<number> {
    return (await this.o.material.escrowCeremonyKeys()).length;
  }

  /**
   * Delete the ceremony keys of reconstructions whose window has passed, so the submissions encrypted
   * to them can no longer be opened; run on a timer while the service runs (and at start). Returns the
   * reconstructions swept; an empty list touches nothing.
   */
  async sweepExpiredCeremonyKeys(): Promise<string[]> {
    const now = this.o.clock.now().getTime();
    const swept: string[] = [];
    for (const kept of await this.o.material.escrowCeremonyKeys()) {
      if (kept.expiresAt.getTime() > now) continue;
      await this.o.material.discardEscrowCeremonyKey(kept.reconstructionId);
      swept.push(kept.reconstructionId);
    }
    return swept;
  }

  /** Whether any kept ceremony key has expired (a cheap check before an audited sweep). */
  async hasExpiredCeremonyKeys(): Promise<boolean> {
    const now = this.o.clock.now().getTime();
    return (await this.o.material.escrowCeremonyKeys()).some((k) => k.expiresAt.getTime() <= now);
  }

  /**
   * At start: the open reconstructions are restored from their wrapped ceremony keys and the
   * ceremony's events (each accepted submission is opened again and checked against its
   * commitment); the ceremony keys of expired or completed ones are deleted, so their submissions
   * can no longer be opened. Nothing lives only in one process's memory.
   */
  async restoreReconstructions(): Promise<{ restored: Array<{ reconstructionId: string; keyId: string; version: number; accepted: number }>; discarded: string[] }> {
    const now = this.o.clock.now().getTime();
    const restored: Array<{ reconstructionId: string; keyId: string; version: number; accepted: number }> = [];
    const discarded: string[] = [];
    for (const kept of await this.o.material.escrowCeremonyKeys()) {
      const { state } = await loadAggregate(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(kept.keyId, kept.version));
      const r = state.reconstructions.find((x) => x.reconstructionId === kept.reconstructionId);
      if (!r || r.completed || new Date(r.expiresAt).getTime() <= now || kept.expiresAt.getTime() <= now) {
        await this.o.material.discardEscrowCeremonyKey(kept.reconstructionId);
        discarded.push(kept.reconstructionId);
        continue;
      }
      const shares = await this.acceptedShares(kept.reconstructionId, state);
      restored.push({ reconstructionId: kept.reconstructionId, keyId: kept.keyId, version: kept.version, accepted: shares.size });
      for (const share of shares.values()) share.fill(0);
    }
    return { restored, discarded };
  }

  /** Set a break-glass key's escrow policy (k-of-n custodians, witness, declaration window). Dual-authorized. */
  async setEscrowPolicy(
    input: { keyId: string; threshold: number; custodians: string[]; witness: string; declarationWindowHours?: number },
    ctx: ChangeContext,
  ): Promise<void> {
    requireSecondPerson(ctx, 'setting an escrow policy');
    const key = await this.breakGlassKey(input.keyId);
    if (!Array.isArray(input.custodians)) throw invalidArgument('custodians', 'must be a list of identity ids');
    input.custodians.forEach((c) => identifier(c, 'custodians'));
    for (const c of input.custodians) await this.custodian(c);
    await handleCommand(this.o.store, escrowPolicyDecider, escrowPolicyEventCodec, escrowPolicyStreamId(key.keyId), () => ({
      command: {
        type: 'SetEscrowPolicy',
        data: {
          keyId: key.keyId,
          threshold: input.threshold,
          custodians: [...input.custodians],
          witness: identifier(input.witness, 'witness'),
          declarationWindowHours: input.declarationWindowHours ?? DEFAULT_DECLARATION_WINDOW_HOURS,
          firstEscrowedVersion: key.versions.length + 1,
        },
        metadata: this.metadata(ctx),
      },
    }));
  }

  /**
   * A rotation (or compromise) introduced a version: a break-glass key with an escrow policy has it
   * sealed in the same change (KeyLifecycleService's NewVersionHook), superseding the previous
   * ceremony. A refusal here refuses the rotation: no version of an escrowed key exists unsealed.
   */
  async onVersionIntroduced(key: KeyRecord, version: number, ctx: ChangeContext): Promise<void> {
    if (key.purpose !== 'BREAK_GLASS') return;
    const { state } = await loadAggregate(this.o.store, escrowPolicyDecider, escrowPolicyEventCodec, escrowPolicyStreamId(key.keyId));
    if (state.status !== 'SET') return;
    await this.seal(key.keyId, ctx, version);
  }

  /**
   * The sealing ceremony of a break-glass key's version (its primary by default), run on creation
   * and on every rotation: split the material k-of-n, seal each share to its custodian, record
   * commitments and package fingerprints, sign the transcript with the attestation key. The
   * ceremony of the previous version is superseded: its custodians now owe destruction declarations.
   */
  async seal(keyId: string, ctx: ChangeContext, version?: number): Promise<{ transcript: SealingTranscript; attestationSignature: string; packages: SealedPackage[] }> {
    const key = await this.breakGlassKey(keyId);
    const v = key.versions.find((x) => x.version === (version ?? key.primaryVersion));
    if (!v || v.state === 'DESTROYED') throw invalidArgument('key_version', `version ${version ?? key.primaryVersion} has no material to seal`);
    const policy = await this.policy(key.keyId);
    const custodians = await Promise.all(policy.custodians.map(async (c) => ({ id: c, keys: await this.custodian(c) })));
    const previous = await this.previousCeremony(key, v.version);
    const now = this.o.clock.now();
    const ceremonyId = randomUUID();
    const steps: Array<{ step: string; at: string }> = [{ step: `participants declared: ${policy.custodians.join(', ')}; witness ${policy.witness}`, at: now.toISOString() }];

    const handle: EscrowedVersionHandle = { keyId: key.keyId, version: v.version, algorithm: v.algorithm, materialRef: v.materialRef, protectionLevel: v.protectionLevel };
    const material = await this.o.material.exportForEscrow(handle);
    let shares: Uint8Array[] = [];
    let keyFingerprint: string;
    // The library checks instanceof Uint8Array, which a Buffer from another realm (a test VM) fails.
    const secret = new Uint8Array(material);
    try {
      keyFingerprint = escrowKeyFingerprint(material, { keyId: key.keyId, version: v.version });
      shares = await split(secret, custodians.length, policy.threshold);
    } finally {
      material.fill(0);
      secret.fill(0);
    }
    steps.push({ step: `material split ${policy.threshold}-of-${custodians.length}`, at: now.toISOString() });
    const packages: SealedPackage[] = [];
    const participants: SealingTranscript['participants'] = [];
    try {
      custodians.forEach((c, i) => {
        const share = Buffer.from(shares[i]);
        const slot = { ceremonyId, custodianId: c.id, shareIndex: i + 1 };
        const box = sealShare(c.keys.encryptionPublicKey, share, slot);
        const commitment = shareCommitment(share, slot);
        share.fill(0);
        const fingerprint = packageFingerprint(box);
        packages.push({ ceremonyId, keyId: key.keyId, version: v.version, custodianId: c.id, shareIndex: i + 1, packageFingerprint: fingerprint, box });
        participants.push({
          custodianId: c.id,
          shareIndex: i + 1,
          encryptionPublicKey: c.keys.encryptionPublicKey,
          signingPublicKey: c.keys.signingPublicKey,
          commitment,
          packageFingerprint: fingerprint,
        });
        steps.push({ step: `share ${i + 1} sealed to ${c.id}`, at: now.toISOString() });
      });
    } finally {
      for (const s of shares) s.fill(0);
    }
    const transcript: SealingTranscript = {
      type: SEALING_TRANSCRIPT_TYPE,
      ceremonyId,
      keyId: key.keyId,
      version: v.version,
      algorithm: v.algorithm,
      protectionLevel: v.protectionLevel,
      threshold: policy.threshold,
      shareCount: custodians.length,
      initiatedBy: ctx.actor,
      witness: policy.witness,
      participants,
      keyFingerprint,
      previousCeremonyId: previous?.ceremonyId ?? null,
      steps,
      sealedAt: now.toISOString(),
      attestationKeyFingerprint: await this.o.attestation.keyFingerprint(),
    };
    const attestationSignature = (await this.o.attestation.sign(canonicalJsonBytes(transcript))).toString('base64');
    const attestationPublicKeyPem = await this.o.attestation.publicKeyPem();
    const metadata = this.metadata(ctx);
    await handleCommand(
      this.o.store,
      escrowCeremonyDecider,
      escrowCeremonyEventCodec,
      escrowCeremonyStreamId(key.keyId, v.version),
      () => ({
        command: {
          type: 'SealEscrow' as const,
          data: {
            opened: {
              ceremonyId,
              keyId: key.keyId,
              version: v.version,
              threshold: policy.threshold,
              shareCount: custodians.length,
              witness: policy.witness,
              custodians: [...policy.custodians],
              keyFingerprint,
              previousCeremonyId: previous?.ceremonyId ?? null,
            },
            packages: participants.map((p, i) => ({
              ceremonyId,
              custodianId: p.custodianId,
              shareIndex: p.shareIndex,
              commitment: p.commitment,
              packageFingerprint: p.packageFingerprint,
              box: { ...packages[i].box },
            })),
            transcript: transcript as unknown as Record<string, unknown>,
            attestationSignature,
            attestationPublicKeyPem,
          },
          metadata,
        },
      }),
      { expectNew: true },
    );
    // Once the ceremony is committed (not before: a rolled-back ceremony must be able to run again).
    const escrowSealed = this.o.material.escrowSealed?.bind(this.o.material);
    if (escrowSealed) await afterCommit(() => escrowSealed(handle));
    if (previous) {
      await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(key.keyId, previous.version), () => ({
        command: { type: 'SupersedeEscrow' as const, data: { byCeremonyId: ceremonyId, declareBy: new Date(now.getTime() + policy.declarationWindowHours * HOUR_MS) }, metadata },
      }));
    }
    return { transcript, attestationSignature, packages };
  }

  /** A participant counter-signs the sealing transcript with their enrolled Ed25519 key. */
  async counterSign(keyId: string, version: number, custodianId: string, signatureBase64: string, ctx: ChangeContext): Promise<EscrowStatus> {
    const { state } = await this.ceremony(keyId, version);
    const custodian = await this.custodian(custodianId);
    const transcript = (await this.signedTranscript(keyId, version)).transcript;
    if (!verifyCanonicalEd25519(transcript, signatureBase64, custodian.signingPublicKey)) {
      throw invalidArgument('signature', `is not ${custodianId}'s signature over the transcript of ceremony ${state.ceremonyId}`);
    }
    await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version), () => ({
      command: { type: 'CounterSignTranscript' as const, data: { custodianId, signature: signatureBase64 }, metadata: this.metadata(ctx) },
    }));
    return this.status(keyId, version);
  }

  /** A custodian's signed declaration that their copy of a superseded package is destroyed. */
  async declareDestroyed(signed: SignedDestructionDeclaration, ctx: ChangeContext): Promise<EscrowStatus> {
    const d = signed?.declaration;
    if (!d || d.type !== DESTRUCTION_DECLARATION_TYPE) throw invalidArgument('declaration', `must be a ${DESTRUCTION_DECLARATION_TYPE}`);
    const { state } = await this.ceremony(d.keyId, d.version);
    if (d.ceremonyId !== state.ceremonyId) throw invalidArgument('declaration.ceremony_id', `version ${d.version} was sealed in ceremony ${state.ceremonyId}`);
    const custodian = await this.custodian(d.custodianId);
    if (!verifyCanonicalEd25519(d, signed.signature, custodian.signingPublicKey)) throw invalidArgument('signature', `is not ${d.custodianId}'s signature over the declaration`);
    await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(d.keyId, d.version), () => ({
      command: {
        type: 'DeclarePackageDestroyed' as const,
        data: { ceremonyId: d.ceremonyId, custodianId: d.custodianId, packageFingerprint: d.packageFingerprint, declaration: { ...d }, signature: signed.signature },
        metadata: this.metadata(ctx),
      },
    }));
    return this.status(d.keyId, d.version);
  }

  /**
   * Settle a superseded version's declarations: with every one in, destroy its material
   * (crypto-shred, or C_DestroyObject for HSM keys); past the window with some missing, record
   * `EscrowDeclarationOverdue` (an urgent alert) and destroy nothing. Run by the scheduler.
   */
  async settleDeclarations(keyId: string, version: number, ctx: ChangeContext): Promise<EscrowStatus> {
    const { state } = await this.ceremony(keyId, version);
    let hsmObjectDestroyed = false;
    let materialDestroyed = false;
    if (state.status === 'SUPERSEDED' && pendingDeclarations(state).length === 0) {
      await this.breakGlassKey(keyId);
      // Through the key's own lifecycle: KeyVersionDestroyed on the key stream, so GetKey, the key
      // view and the evidence show the version destroyed; the ceremony then names the declarations.
      hsmObjectDestroyed = (await this.o.versions.destroyEscrowedVersion(keyId, version, state.ceremonyId, ctx)).hsmObjectDestroyed;
      materialDestroyed = true;
    }
    await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version), () => ({
      command: { type: 'SettleDeclarations' as const, data: { materialDestroyed, hsmObjectDestroyed }, metadata: this.metadata(ctx) },
    }));
    return this.status(keyId, version);
  }

  /**
   * Open a reconstruction: a drill (recombine and verify, never use) or an emergency unseal
   * (dual-authorized). Returns the ceremony public key custodians encrypt their share to; its private
   * key is kept only wrapped by the key backend (master key) until the reconstruction completes or expires.
   */
  async openReconstruction(keyId: string, version: number, purpose: 'DRILL' | 'UNSEAL', ctx: ChangeContext): Promise<{ reconstructionId: string; ceremonyPublicKey: string; expiresAt: string }> {
    if (purpose !== 'DRILL' && purpose !== 'UNSEAL') throw invalidArgument('purpose', 'must be DRILL or UNSEAL');
    if (purpose === 'UNSEAL') requireSecondPerson(ctx, 'an emergency unseal');
    await this.ceremony(keyId, version);
    const reconstructionId = randomUUID();
    const expiresAt = new Date(this.o.clock.now().getTime() + (this.o.reconstructionTtlMinutes ?? DEFAULT_RECONSTRUCTION_TTL_MINUTES) * MINUTE_MS);
    const { publicKeySpki } = await this.o.material.createEscrowCeremonyKey({ reconstructionId, keyId, version, expiresAt });
    const ceremonyPublicKey = publicKeySpki.toString('base64');
    try {
      await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version), () => ({
        command: { type: 'OpenReconstruction' as const, data: { reconstructionId, purpose, ceremonyKeyFingerprint: sha256Hex(publicKeySpki), ceremonyPublicKey, expiresAt }, metadata: this.metadata(ctx) },
      }));
    } catch (e) {
      await this.o.material.discardEscrowCeremonyKey(reconstructionId).catch(() => undefined);
      throw e;
    }
    return { reconstructionId, ceremonyPublicKey, expiresAt: expiresAt.toISOString() };
  }

  /**
   * A custodian submits their share, encrypted to the ceremony key. The share is checked against
   * its commitment on arrival: a swapped or corrupted share is refused, naming its custodian. An
   * accepted submission is recorded as it came (encrypted to the ceremony key, never the share), so
   * the reconstruction survives a restart; once its ceremony key is deleted it no longer opens.
   */
  async submitShare(reconstructionId: string, custodianId: string, submission: SealedBox, ctx: ChangeContext): Promise<{ accepted: number; threshold: number }> {
    const ceremonyKey = await this.ceremonyKeyOf(reconstructionId);
    const { state } = await this.ceremony(ceremonyKey.keyId, ceremonyKey.version);
    const p = state.participants.find((x) => x.custodianId === custodianId);
    if (!p) throw new KmsError('PERMISSION_DENIED', `custodian_id: ${custodianId} holds no package of ceremony ${state.ceremonyId}`, 'custodian_id');
    let reason: string | undefined;
    try {
      const share = openSubmission(ceremonyKey.privateKey, submission, { reconstructionId, custodianId });
      if (!sameDigest(shareCommitment(share, { ceremonyId: state.ceremonyId, shareIndex: p.shareIndex }), p.commitment)) {
        reason = `the share submitted by ${custodianId} does not match its commitment (swapped or corrupted)`;
      }
      share.fill(0);
    } catch {
      reason = `the submission of ${custodianId} does not decrypt under the ceremony key`;
    }
    const metadata = this.metadata(ctx);
    await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(ceremonyKey.keyId, ceremonyKey.version), () => ({
      command: {
        type: 'RecordShareSubmission' as const,
        data: {
          reconstructionId,
          custodianId,
          shareIndex: p.shareIndex,
          outcome: reason ? { accepted: false as const, reason } : { accepted: true as const, submission: { ...submission } as unknown as Record<string, string> },
        },
        metadata,
      },
    }));
    if (reason) {
      // The refusal is recorded (ShareSubmissionRefused, naming the custodian) although the call fails.
      keepWritesOnFailure();
      throw new KmsError('INVALID_ARGUMENT', `share: ${reason}; it was refused`, 'share', { custodian: custodianId });
    }
    const r = state.reconstructions.find((x) => x.reconstructionId === reconstructionId);
    return { accepted: (r?.accepted.length ?? 0) + 1, threshold: state.threshold };
  }

  /**
   * Recombine the accepted shares, check the result against the sealed key fingerprint and record
   * the signed reconstruction transcript. An unseal makes the version usable for a bounded window.
   * The ceremony key is deleted then: the recorded submissions no longer open.
   */
  async completeReconstruction(reconstructionId: string, ctx: ChangeContext): Promise<{ transcript: ReconstructionTranscript; attestationSignature: string }> {
    const ceremonyKey = await this.ceremonyKeyOf(reconstructionId);
    const { keyId, version } = ceremonyKey;
    const { state } = await this.ceremony(keyId, version);
    const r = state.reconstructions.find((x) => x.reconstructionId === reconstructionId);
    if (!r) throw invalidArgument('reconstruction_id', `no reconstruction ${reconstructionId}`);
    const shares = await this.acceptedShares(reconstructionId, state, ceremonyKey);
    if (shares.size < state.threshold) {
      for (const s of shares.values()) s.fill(0);
      throw new KmsError('ILLEGAL_TRANSITION', `shares: ${shares.size} of ${state.threshold} accepted shares, not enough to recombine`, 'shares');
    }
    let recombined: Uint8Array | undefined;
    let fingerprint: string;
    try {
      const inputs = [...shares.values()].map((s) => new Uint8Array(s));
      recombined = await combine(inputs);
      for (const i of inputs) i.fill(0);
      fingerprint = escrowKeyFingerprint(Buffer.from(recombined), { keyId, version });
    } finally {
      recombined?.fill(0);
      for (const s of shares.values()) s.fill(0);
    }
    const verified = sameDigest(fingerprint, state.keyFingerprint);
    if (!verified) throw new KmsError('INTEGRITY_VIOLATION', 'shares: the recombined material does not match the sealed key fingerprint', 'shares');
    const opened = (await this.ceremonyEvents(keyId, version)).find((e) => e.type === 'ReconstructionOpened' && e.data.reconstructionId === reconstructionId);
    const now = this.o.clock.now();
    const usableUntil = r.purpose === 'UNSEAL' ? new Date(now.getTime() + (this.o.unsealWindowMinutes ?? DEFAULT_UNSEAL_WINDOW_MINUTES) * MINUTE_MS).toISOString() : null;
    const accepted = state.participants
      .filter((p) => shares.has(p.custodianId))
      .map((p) => ({ custodianId: p.custodianId, shareIndex: p.shareIndex, packageFingerprint: p.packageFingerprint }));
    const refused = (await this.refusedSubmissions(keyId, version, reconstructionId)).map((x) => ({
      ...x,
      shareIndex: state.participants.find((p) => p.custodianId === x.custodianId)?.shareIndex ?? 0,
    }));
    const transcript: ReconstructionTranscript = {
      type: RECONSTRUCTION_TRANSCRIPT_TYPE,
      reconstructionId,
      purpose: r.purpose,
      ceremonyId: state.ceremonyId,
      keyId,
      version,
      // Who opened it and who approved, as recorded when it was opened (the same after a restart).
      requestedBy: opened?.metadata.actor ?? ctx.actor,
      approvers: (opened?.metadata.approvers ?? []).filter((a) => a !== opened?.metadata.actor),
      accepted,
      refused,
      keyFingerprint: fingerprint,
      verified,
      completedAt: now.toISOString(),
      usableUntil,
      attestationKeyFingerprint: await this.o.attestation.keyFingerprint(),
    };
    const attestationSignature = (await this.o.attestation.sign(canonicalJsonBytes(transcript))).toString('base64');
    await handleCommand(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version), () => ({
      command: {
        type: 'CompleteReconstruction' as const,
        data: { reconstructionId, purpose: r.purpose, transcript: transcript as unknown as Record<string, unknown>, attestationSignature, usableUntil },
        metadata: this.metadata(ctx),
      },
    }));
    await this.o.material.discardEscrowCeremonyKey(reconstructionId);
    return { transcript, attestationSignature };
  }

  /** The ceremony key of an open reconstruction, or INVALID_ARGUMENT naming reconstruction_id. */
  private async ceremonyKeyOf(reconstructionId: string): Promise<EscrowCeremonyKey> {
    if (typeof reconstructionId !== 'string' || !IDENTIFIER.test(reconstructionId)) throw invalidArgument('reconstruction_id', 'must be a reconstruction id');
    const k = await this.o.material.escrowCeremonyKey(reconstructionId);
    if (!k) throw invalidArgument('reconstruction_id', `no open reconstruction ${reconstructionId} (completed, expired, or never opened)`);
    return k;
  }

  /**
   * The shares of a reconstruction's accepted submissions, opened again from the ceremony's events
   * with its ceremony key and each checked against its commitment (the caller zeroes them).
   */
  private async acceptedShares(reconstructionId: string, state: EscrowCeremonyState, key?: EscrowCeremonyKey): Promise<Map<string, Buffer>> {
    const ceremonyKey = key ?? (await this.ceremonyKeyOf(reconstructionId));
    const shares = new Map<string, Buffer>();
    for (const e of await this.ceremonyEvents(state.keyId, state.version)) {
      if (e.type !== 'ShareSubmissionAccepted' || e.data.reconstructionId !== reconstructionId) continue;
      const p = state.participants.find((x) => x.custodianId === e.data.custodianId);
      if (!p || !e.data.submission) continue;
      let share: Buffer;
      try {
        share = openSubmission(ceremonyKey.privateKey, e.data.submission as unknown as SealedBox, { reconstructionId, custodianId: p.custodianId });
      } catch {
        throw new KmsError('INTEGRITY_VIOLATION', `shares: the recorded submission of ${p.custodianId} no longer opens under the ceremony key`, 'shares');
      }
      if (!sameDigest(shareCommitment(share, { ceremonyId: state.ceremonyId, shareIndex: p.shareIndex }), p.commitment)) {
        share.fill(0);
        throw new KmsError('INTEGRITY_VIOLATION', `shares: the recorded submission of ${p.custodianId} does not match its commitment`, 'shares');
      }
      shares.set(p.custodianId, share);
    }
    return shares;
  }

  private async ceremonyEvents(keyId: string, version: number) {
    const { events } = await this.o.store.readStream(escrowCeremonyStreamId(keyId, version));
    return events.map((e) => escrowCeremonyEventCodec.parse(e));
  }

  /**
   * The use gate of break-glass keys (CryptoService): a version with an escrow ceremony is used only
   * while an approved emergency unseal's window is open. A version never sealed is an ordinary key.
   */
  async assertUsable(keyId: string, version: number): Promise<void> {
    const { state } = await loadAggregate(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version));
    if (state.status === 'NONE') {
      if (await this.awaitsSealing(keyId, version)) {
        throw new KmsError('KEY_SEALED', `key_id: version ${version} of ${keyId} is held in escrow and not sealed yet; it is not usable in clear until its sealing ceremony ran`, 'key_id');
      }
      return;
    }
    const until = state.usableUntil ? new Date(state.usableUntil).getTime() : 0;
    if (until > this.o.clock.now().getTime()) return;
    const since = state.usableUntil ? ` (the last unseal window closed at ${state.usableUntil})` : '';
    throw new KmsError('KEY_SEALED', `key_id: version ${version} of ${keyId} is sealed in escrow; it is usable only during an approved emergency unseal${since}`, 'key_id');
  }

  /** Whether an emergency unseal currently allows use of the version. */
  async usable(keyId: string, version: number): Promise<boolean> {
    const s = await this.status(keyId, version);
    return s.usableUntil !== null && new Date(s.usableUntil).getTime() > this.o.clock.now().getTime();
  }

  /** The escrow of a key version as a person sees it: seal, custodians, declarations, last drill. */
  async status(keyId: string, version: number): Promise<EscrowStatus> {
    const { state } = await this.ceremony(keyId, version);
    return {
      keyId,
      version,
      ceremonyId: state.ceremonyId,
      status: state.status,
      threshold: state.threshold,
      shareCount: state.shareCount,
      custodians: state.participants.map((p) => p.custodianId),
      counterSigned: state.participants.filter((p) => p.counterSigned).map((p) => p.custodianId),
      pendingDeclarations: pendingDeclarations(state),
      declareBy: state.declareBy,
      lastDrillAt: state.lastDrillAt,
      usableUntil: state.usableUntil,
    };
  }

  /** A custodian's own sealed package of a version, as the KMS keeps it (encrypted to them). */
  async packageOf(keyId: string, version: number, custodianId: string): Promise<SealedPackage> {
    identifier(keyId, 'key_id');
    const { events } = await this.o.store.readStream(escrowCeremonyStreamId(keyId, version));
    const sealed = events.map((e) => escrowCeremonyEventCodec.parse(e)).find((e) => e.type === 'SharePackageSealed' && e.data.custodianId === custodianId);
    if (sealed?.type !== 'SharePackageSealed' || !sealed.data.box) {
      throw new KmsError('PERMISSION_DENIED', `permission denied: ${custodianId} holds no package of version ${version} of ${keyId}`, 'key_version');
    }
    const d = sealed.data;
    return { ceremonyId: d.ceremonyId, keyId, version, custodianId, shareIndex: d.shareIndex, packageFingerprint: d.packageFingerprint, box: d.box as unknown as SealedBox };
  }

  /** The signed sealing transcript of a version, as recorded. */
  async signedTranscript(keyId: string, version: number): Promise<{ transcript: SealingTranscript; attestationSignature: string; counterSignatures: Record<string, string> }> {
    const { events } = await this.o.store.readStream(escrowCeremonyStreamId(keyId, version));
    const parsed = events.map((e) => escrowCeremonyEventCodec.parse(e));
    const signed = parsed.find((e) => e.type === 'SealingTranscriptSigned');
    if (!signed || signed.type !== 'SealingTranscriptSigned') throw invalidArgument('key_version', `version ${version} of ${keyId} was never sealed`);
    const counterSignatures: Record<string, string> = {};
    for (const e of parsed) if (e.type === 'SealingTranscriptCounterSigned') counterSignatures[e.data.custodianId] = e.data.signature;
    return { transcript: signed.data.transcript as unknown as SealingTranscript, attestationSignature: signed.data.attestationSignature, counterSignatures };
  }

  /**
   * A version without a ceremony of a key under an escrow policy: created under the policy, or
   * newer than a version that was sealed. Fail closed: it is not used in clear.
   */
  private async awaitsSealing(keyId: string, version: number): Promise<boolean> {
    const { state: policy } = await loadAggregate(this.o.store, escrowPolicyDecider, escrowPolicyEventCodec, escrowPolicyStreamId(keyId));
    if (policy.status !== 'SET') return false;
    if (policy.firstEscrowedVersion !== null && version >= policy.firstEscrowedVersion) return true;
    for (let v = version - 1; v >= 1; v--) {
      const { state } = await loadAggregate(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, v));
      if (state.status !== 'NONE') return true;
    }
    return false;
  }

  private async refusedSubmissions(keyId: string, version: number, reconstructionId: string): Promise<Array<{ custodianId: string; reason: string }>> {
    const { events } = await this.o.store.readStream(escrowCeremonyStreamId(keyId, version));
    return events
      .map((e) => escrowCeremonyEventCodec.parse(e))
      .flatMap((e) => (e.type === 'ShareSubmissionRefused' && e.data.reconstructionId === reconstructionId ? [{ custodianId: e.data.custodianId, reason: e.data.reason }] : []));
  }

  private async ceremony(keyId: string, version: number): Promise<{ state: EscrowCeremonyState }> {
    identifier(keyId, 'key_id');
    if (!Number.isInteger(version) || version < 1) throw invalidArgument('key_version', 'must be a positive integer');
    const { state } = await loadAggregate(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(keyId, version));
    if (state.status === 'NONE') throw invalidArgument('key_version', `version ${version} of ${keyId} has no escrow ceremony`);
    return { state };
  }

  private async previousCeremony(key: KeyRecord, version: number): Promise<{ ceremonyId: string; version: number } | undefined> {
    for (let v = version - 1; v >= 1; v--) {
      const { state } = await loadAggregate(this.o.store, escrowCeremonyDecider, escrowCeremonyEventCodec, escrowCeremonyStreamId(key.keyId, v));
      if (state.status === 'SEALED' || state.status === 'SEALING') return { ceremonyId: state.ceremonyId, version: v };
      if (state.status !== 'NONE') return undefined;
    }
    return undefined;
  }

  private async breakGlassKey(keyId: string): Promise<KeyRecord> {
    identifier(keyId, 'key_id');
    const { state } = await loadAggregate(this.o.store, keyDecider, keyEventCodec, keyStreamId(keyId));
    if (state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', `key_id: no key ${keyId}`, 'key_id');
    if (state.key.purpose !== 'BREAK_GLASS') throw invalidArgument('key_id', `key ${keyId} is ${state.key.purpose}, not BREAK_GLASS: only break-glass keys are escrowed`);
    return state.key;
  }

  private async policy(keyId: string): Promise<Extract<EscrowPolicyState, { status: 'SET' }>> {
    const { state } = await loadAggregate(this.o.store, escrowPolicyDecider, escrowPolicyEventCodec, escrowPolicyStreamId(keyId));
    if (state.status !== 'SET') throw new KmsError('ILLEGAL_TRANSITION', `key_id: key ${keyId} has no escrow policy; set one first`, 'key_id');
    return state;
  }

  private async custodian(identityId: string): Promise<{ encryptionPublicKey: string; signingPublicKey: string }> {
    const { state } = await loadAggregate(this.o.store, custodianDecider, custodianEventCodec, custodianStreamId(identityId));
    if (state.status !== 'ENROLLED') throw invalidArgument('custodians', `${identityId} is not an enrolled escrow custodian`);
    return state;
  }
}

/** Base64 DER SubjectPublicKeyInfo of a ceremony private key. */
function ceremonyPublicKeyOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
}

/** Build a destruction declaration for a custodian to sign (CLI `declare-destroyed`). */
export function destructionDeclaration(p: Omit<DestructionDeclaration, 'type'>): DestructionDeclaration {
  return { type: DESTRUCTION_DECLARATION_TYPE, ...p };
}

/** Hex SHA-256 of a buffer (kept here so callers need no crypto import). */
export function digestOf(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
