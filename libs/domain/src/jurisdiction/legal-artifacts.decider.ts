import { isUuid } from '../ciphertext/ciphertext-format';
import { KmsError, invalidArgument } from '../errors/kms-error';
import type { Decider } from '../events/decider';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import { parseJurisdiction, type Jurisdiction } from './jurisdiction';

/**
 * The legal appendix of a jurisdiction (docs/jurisdictions.md): one stream per jurisdiction,
 * `legal-artifacts-<jurisdiction>`, holds every registration, supersession and withdrawal of its
 * documents (DTIA, provider statements, emergency access plan...). Nothing is ever deleted.
 */
export const LEGAL_ARTIFACTS_STREAM_PREFIX = 'legal-artifacts-';

export const LEGAL_ARTIFACT_KINDS = ['DTIA', 'PROVIDER_STATEMENT', 'EMERGENCY_ACCESS_PLAN', 'OTHER'] as const;
export type LegalArtifactKind = (typeof LEGAL_ARTIFACT_KINDS)[number];

/** Largest document accepted as an upload (its bytes are hashed, not kept). */
export const MAX_LEGAL_ARTIFACT_BYTES = 10 * 1024 * 1024;

/**
 * Where the SHA-256 comes from: computed by the KMS from the uploaded bytes, or stated by the
 * registrant for a document referenced by URL (the KMS fetches nothing).
 */
export type LegalArtifactHashOrigin = 'COMPUTED_FROM_UPLOAD' | 'STATED_BY_REGISTRANT';

/** A registration as validated: what the event records (never the document's bytes). */
export interface LegalArtifactRegistration {
  artifactId: string;
  jurisdiction: Jurisdiction;
  kind: LegalArtifactKind;
  title: string;
  owner: string;
  retentionLocation: string;
  sha256: string;
  hashOrigin: LegalArtifactHashOrigin;
  /** A referenced document's https URL. */
  url?: string;
  /** An uploaded document's size in bytes, media type and file name (as sent). */
  size?: number;
  mediaType?: string;
  fileName?: string;
  /** The artifact of the same jurisdiction this one replaces (it becomes SUPERSEDED). */
  supersedes?: string;
}

export type LegalArtifactCommand =
  | { type: 'RegisterLegalArtifact'; data: LegalArtifactRegistration; metadata: CommandMetadata }
  | { type: 'WithdrawLegalArtifact'; data: { artifactId: string; reason: string }; metadata: CommandMetadata };

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
export type LegalArtifactRegistered = Event<'LegalArtifactRegistered', LegalArtifactRegistration>;
export type LegalArtifactSuperseded = Event<'LegalArtifactSuperseded', { artifactId: string; jurisdiction: Jurisdiction; supersededBy: string }>;
export type LegalArtifactWithdrawn = Event<'LegalArtifactWithdrawn', { artifactId: string; jurisdiction: Jurisdiction; reason: string }>;
export type LegalArtifactEvent = LegalArtifactRegistered | LegalArtifactSuperseded | LegalArtifactWithdrawn;
export const LEGAL_ARTIFACT_EVENT_TYPES: readonly LegalArtifactEvent['type'][] = ['LegalArtifactRegistered', 'LegalArtifactSuperseded', 'LegalArtifactWithdrawn'];

export type LegalArtifactStatus = 'ACTIVE' | 'SUPERSEDED' | 'WITHDRAWN';

/** An artifact as the stream folds it. */
export interface LegalArtifactState extends LegalArtifactRegistration {
  status: LegalArtifactStatus;
  registeredAt: string;
  registeredBy: string;
  supersededBy?: string;
  supersededAt?: string;
  withdrawnAt?: string;
  withdrawnBy?: string;
  withdrawalReason?: string;
}

/** A jurisdiction's artifacts, in registration order. */
export interface LegalArtifactsState {
  artifacts: LegalArtifactState[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/;
// Printable text without control characters (titles, owners, locations end up in PDFs and tables).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function boundedText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidArgument(field, 'is required');
  const v = value.trim();
  if (v.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
  if (CONTROL.test(v)) throw invalidArgument(field, 'must not contain control characters');
  return v;
}

/** A legal artifact kind; the error names `field`. */
export function parseLegalArtifactKind(value: unknown, field = 'kind'): LegalArtifactKind {
  if (typeof value === 'string' && (LEGAL_ARTIFACT_KINDS as readonly string[]).includes(value.trim().toUpperCase())) return value.trim().toUpperCase() as LegalArtifactKind;
  throw invalidArgument(field, `must be one of ${LEGAL_ARTIFACT_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** An artifact id (UUID); the error names `field`. */
export function parseLegalArtifactId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isUuid(value)) throw invalidArgument(field, 'must be a legal artifact id (UUID)');
  return value.toLowerCase();
}

/** A referenced document's URL: https only, no credentials in it, at most 2048 characters. */
export function parseArtifactUrl(value: unknown, field = 'url'): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidArgument(field, 'is required');
  const raw = value.trim();
  if (raw.length > 2048) throw invalidArgument(field, 'must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidArgument(field, 'is not a valid absolute URL');
  }
  if (url.protocol !== 'https:') throw invalidArgument(field, `must be an https URL, got ${url.protocol.replace(/:$/, '')}`);
  if (url.username !== '' || url.password !== '') throw invalidArgument(field, 'must not carry credentials (user:password@)');
  return url.toString();
}

/** A SHA-256 in hex (64 characters; stored lowercase). */
export function parseSha256(value: unknown, field = 'sha256'): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value.trim().toLowerCase())) throw invalidArgument(field, 'must be a SHA-256 in hex (64 characters)');
  return value.trim().toLowerCase();
}

/** What a registrant sends, before validation (the API's field names). */
export interface LegalArtifactInput {
  jurisdiction: unknown;
  kind: unknown;
  title: unknown;
  owner: unknown;
  retentionLocation: unknown;
  supersedes?: unknown;
}

/** The fields common to an upload and a reference, validated; each error names its field. */
export function validateLegalArtifactFields(input: LegalArtifactInput): Pick<LegalArtifactRegistration, 'jurisdiction' | 'kind' | 'title' | 'owner' | 'retentionLocation' | 'supersedes'> {
  const jurisdiction = parseJurisdiction(input.jurisdiction, 'jurisdiction');
  const kind = parseLegalArtifactKind(input.kind);
  const title = boundedText(input.title, 'title', 200);
  const owner = boundedText(input.owner, 'owner', 200);
  const retentionLocation = boundedText(input.retentionLocation, 'retentionLocation', 500);
  const supersedes = input.supersedes === undefined || input.supersedes === '' ? undefined : parseLegalArtifactId(input.supersedes, 'supersedes');
  return { jurisdiction, kind, title, owner, retentionLocation, ...(supersedes ? { supersedes } : {}) };
}

/** An uploaded document's media type (from its content-type) and file name; each error names its field. */
export function validateUploadDescription(mediaType: unknown, fileName: unknown): { mediaType: string; fileName?: string } {
  const type = typeof mediaType === 'string' ? mediaType.split(';')[0]?.trim().toLowerCase() : '';
  if (!type || !MEDIA_TYPE.test(type)) throw invalidArgument('content-type', 'must name the document\'s media type (e.g. application/pdf)');
  if (fileName === undefined || fileName === '') return { mediaType: type };
  const name = boundedText(fileName, 'fileName', 255);
  if (/[/\\]/.test(name) || name === '.' || name === '..') throw invalidArgument('fileName', 'must be a file name, not a path');
  return { mediaType: type, fileName: name };
}

function metadataOf(m: CommandMetadata): EventMetadata {
  return { actor: m.actor, correlationId: m.correlationId, occurredAt: m.now.toISOString() };
}

function find(state: LegalArtifactsState, artifactId: string): LegalArtifactState | undefined {
  return state.artifacts.find((a) => a.artifactId === artifactId);
}

/**
 * The legal appendix of one jurisdiction as data. A registration may supersede an ACTIVE artifact
 * of the same jurisdiction (both events in one append); a withdrawal ends an ACTIVE one with a
 * reason. Superseded and withdrawn artifacts stay listed: nothing is deleted.
 */
export const legalArtifactsDecider: Decider<LegalArtifactCommand, LegalArtifactEvent, LegalArtifactsState> = {
  initialState: () => ({ artifacts: [] }),
  decide(command, state) {
    const metadata = metadataOf(command.metadata);
    switch (command.type) {
      case 'RegisterLegalArtifact': {
        const data = command.data;
        if (find(state, data.artifactId)) throw new Error(`legal artifact ${data.artifactId} is already registered`);
        if (!SHA256_HEX.test(data.sha256)) throw invalidArgument('sha256', 'must be a SHA-256 in hex (64 characters)');
        const registered: LegalArtifactRegistered = { type: 'LegalArtifactRegistered', data: { ...data }, metadata };
        if (!data.supersedes) return [registered];
        const old = find(state, data.supersedes);
        if (!old) throw invalidArgument('supersedes', `no legal artifact ${data.supersedes} is registered in jurisdiction "${data.jurisdiction}"`);
        if (old.status !== 'ACTIVE') throw new KmsError('ILLEGAL_TRANSITION', `supersedes: artifact ${data.supersedes} is ${old.status}, only an ACTIVE artifact can be superseded`, 'supersedes');
        return [registered, { type: 'LegalArtifactSuperseded', data: { artifactId: old.artifactId, jurisdiction: old.jurisdiction, supersededBy: data.artifactId }, metadata }];
      }
      case 'WithdrawLegalArtifact': {
        const old = find(state, command.data.artifactId);
        if (!old) throw invalidArgument('artifactId', `no legal artifact ${command.data.artifactId} is registered`);
        if (old.status !== 'ACTIVE') throw new KmsError('ILLEGAL_TRANSITION', `artifactId: artifact ${old.artifactId} is already ${old.status}`, 'artifactId');
        return [{ type: 'LegalArtifactWithdrawn', data: { artifactId: old.artifactId, jurisdiction: old.jurisdiction, reason: command.data.reason }, metadata }];
      }
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event) {
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'LegalArtifactRegistered':
        return { artifacts: [...state.artifacts, { ...event.data, status: 'ACTIVE', registeredAt: at, registeredBy: event.metadata.actor }] };
      case 'LegalArtifactSuperseded':
        return { artifacts: state.artifacts.map((a) => (a.artifactId === event.data.artifactId ? { ...a, status: 'SUPERSEDED' as const, supersededBy: event.data.supersededBy, supersededAt: at } : a)) };
      case 'LegalArtifactWithdrawn':
        return {
          artifacts: state.artifacts.map((a) =>
            a.artifactId === event.data.artifactId ? { ...a, status: 'WITHDRAWN' as const, withdrawnAt: at, withdrawnBy: event.metadata.actor, withdrawalReason: event.data.reason } : a,
          ),
        };
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  },
};

/** Validate a withdrawal's reason (1 to 1024 characters); the error names `reason`. */
export function parseWithdrawalReason(value: unknown): string {
  return boundedText(value, 'reason', 1024);
}
