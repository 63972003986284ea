import type { Decider } from '../events/decider';
import { KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';

/**
 * A tenant's chain of regulatory proof tokens (RPTs): compact JWS signed by the tenant's root key,
 * each carrying `seq` (1, 2, 3, … without gaps), `iat` (never earlier than the previous token's) and
 * `prev` (the SHA-256 of the previous token), so the chain stays hash-linked across root rotations.
 * One stream per tenant (`rpt-<tenant>`); the append's expected version makes `seq` gapless.
 */
export const PROOF_CHAIN_STREAM_PREFIX = 'rpt-';

export function proofChainStreamId(tenant: string): string {
  return `${PROOF_CHAIN_STREAM_PREFIX}${tenant}`;
}

/** What a token's payload holds besides the claim. `prev` is null for the first token of a chain. */
export interface ProofTokenLink {
  seq: number;
  /** Seconds since the epoch (JWT NumericDate). */
  iat: number;
  prev: string | null;
}

export type ProofTokenIssued = {
  type: 'ProofTokenIssued';
  data: { tenant: string; seq: number; iat: number; prev: string | null; kid: string; token: string; tokenHash: string };
  metadata: EventMetadata;
};
export type ProofChainEvent = ProofTokenIssued;

export type IssueProofTokenCommand = {
  type: 'IssueProofToken';
  data: { tenant: string; seq: number; iat: number; prev: string | null; kid: string; token: string; tokenHash: string };
  metadata: CommandMetadata;
};
export type ProofChainCommand = IssueProofTokenCommand;

export type ProofChainState = { status: 'Empty' } | { status: 'Open'; tenant: string; seq: number; iat: number; lastHash: string };

export const PROOF_CHAIN_EVENT_TYPES: readonly ProofChainEvent['type'][] = ['ProofTokenIssued'];

/** The link the next token of a chain must carry, at time `nowSeconds` (never before the last token's iat). */
export function nextProofLink(state: ProofChainState, nowSeconds: number): ProofTokenLink {
  if (state.status === 'Empty') return { seq: 1, iat: nowSeconds, prev: null };
  return { seq: state.seq + 1, iat: Math.max(nowSeconds, state.iat), prev: state.lastHash };
}

function decide(command: ProofChainCommand, state: ProofChainState): ProofChainEvent[] {
  switch (command.type) {
    case 'IssueProofToken': {
      const expected = nextProofLink(state, command.data.iat);
      if (command.data.seq !== expected.seq || command.data.prev !== expected.prev || command.data.iat !== expected.iat) {
        throw new KmsError('CONCURRENCY_CONFLICT', `proof token ${command.data.seq} does not follow the chain (expected seq ${expected.seq})`);
      }
      if (state.status === 'Open' && state.tenant !== command.data.tenant) throw new KmsError('INVALID_ARGUMENT', 'tenant: does not own this chain', 'tenant');
      const m = command.metadata;
      return [
        {
          type: 'ProofTokenIssued',
          data: { ...command.data },
          metadata: { actor: m.actor, correlationId: m.correlationId, occurredAt: m.now.toISOString() },
        },
      ];
    }
    default: {
      const never: never = command.type;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

function evolve(state: ProofChainState, event: ProofChainEvent): ProofChainState {
  switch (event.type) {
    case 'ProofTokenIssued':
      return { status: 'Open', tenant: event.data.tenant, seq: event.data.seq, iat: event.data.iat, lastHash: event.data.tokenHash };
    default: {
      const never: never = event.type;
      return never;
    }
  }
}

/** The proof chain's decider: a token is accepted only as the chain's next link. */
export const proofChainDecider: Decider<ProofChainCommand, ProofChainEvent, ProofChainState> = {
  decide,
  evolve,
  initialState: () => ({ status: 'Empty' }),
};
