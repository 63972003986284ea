import {
  type CrossingDecision,
  decideCrossing,
  invalidArgument,
  type Jurisdiction,
  parseJurisdiction,
  RESIDENCY_STREAM_PREFIX,
  residencyEventCodec,
  residencyRulesDecider,
  type ResidencyState,
  validateTenant,
} from '@kms/domain';
import type { EventStore } from '@kms/event-store';
import { handleCommand, loadAggregate, StreamLocks } from '../changes/handle-command';
import { type ChangeContext, commandMetadata } from '../keys/key-lifecycle.service';
import type { Clock } from '../ports/audit-log.port';

/** A residency rule change as asked for: allow (or revoke) moving material of `from` keys under `to` keys. */
export interface ResidencyRuleChange {
  tenant: string;
  from: Jurisdiction;
  to: Jurisdiction;
  allowed: boolean;
}

/** The stream of a tenant's residency rules. */
export function residencyStreamId(tenant: string): string {
  return `${RESIDENCY_STREAM_PREFIX}${tenant}`;
}

/**
 * A tenant's residency rules (docs/jurisdictions.md): which ordered jurisdiction pairs an operation
 * may cross. Changing one is a manual operation (DualAuthorization runs it once a second person
 * approved); crypto operations ask `crossing` before moving material or plaintext between keys.
 */
export class ResidencyRulesService {
  private readonly locks = new StreamLocks();

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  /** Validate a requested change before anyone is asked to approve it; fields named as in the API. */
  check(raw: { tenant: unknown; from: unknown; to: unknown; allowed: unknown }): ResidencyRuleChange {
    const tenant = validateTenant(raw.tenant);
    const from = parseJurisdiction(raw.from, 'from_jurisdiction');
    const to = parseJurisdiction(raw.to, 'to_jurisdiction');
    if (from === to) throw invalidArgument('to_jurisdiction', "must differ from from_jurisdiction: a key's own jurisdiction needs no rule");
    if (typeof raw.allowed !== 'boolean') throw invalidArgument('allowed', 'must be true (allow the crossing) or false (revoke it)');
    return { tenant, from, to, allowed: raw.allowed };
  }

  /** A tenant's rules now. */
  async rules(tenant: string): Promise<ResidencyState> {
    return (await loadAggregate(this.store, residencyRulesDecider, residencyEventCodec, residencyStreamId(tenant))).state;
  }

  /** The allowed pairs of a tenant, sorted. */
  async allowedPairs(tenant: string): Promise<Array<{ from: string; to: string }>> {
    return [...(await this.rules(validateTenant(tenant))).allowed]
      .sort()
      .map((pair) => {
        const [from, to] = pair.split('>');
        return { from, to };
      });
  }

  /** Apply an approved change (the decider refuses it without a second person in `ctx.approvers`). */
  async change(change: ResidencyRuleChange, ctx: ChangeContext): Promise<void> {
    await handleCommand(
      this.store,
      residencyRulesDecider,
      residencyEventCodec,
      residencyStreamId(change.tenant),
      () => ({
        command: {
          type: change.allowed ? ('AllowResidencyCrossing' as const) : ('RevokeResidencyCrossing' as const),
          data: { tenant: change.tenant, from: change.from, to: change.to },
          metadata: commandMetadata(ctx, this.clock.now()),
        },
      }),
      { locks: this.locks },
    );
  }

  /**
   * Whether material or plaintext of a `from` key may go under a `to` key for `tenant`: the same
   * jurisdiction, an allowed crossing (audit it as such), or PERMISSION_DENIED naming `field`.
   */
  async crossing(tenant: string, from: Jurisdiction, to: Jurisdiction, field = 'destination_key_id'): Promise<CrossingDecision> {
    if (from === to) return { kind: 'same-jurisdiction' };
    return decideCrossing(await this.rules(tenant), tenant, from, to, field);
  }
}
