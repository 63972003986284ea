import type { ApprovedOperationRunner, IdentityService, KeyLifecycleService } from '@kms/application';
import { KmsError, type KeyPolicy, type RotationReason } from '@kms/domain';

/** How each approved operation runs once the second person has said yes. */
export function approvedOperationRunner(lifecycle: KeyLifecycleService, identities: IdentityService): ApprovedOperationRunner {
  return async (op, ctx) => {
    // The change runs as its requester: one suspended since asking does not get it done by proxy.
    if ((await identities.get(ctx.actor)).status === 'Suspended') {
      throw new KmsError('PERMISSION_DENIED', 'permission denied: the requester has been suspended since asking');
    }
    const p = op.params;
    switch (op.operation) {
      case 'RotateRootTenantKey':
        await lifecycle.rotateKey(op.targetId, p['reason'] as RotationReason, ctx);
        return;
      case 'UpdateRotationPolicy':
        await lifecycle.updateRotationPolicy(op.targetId, p['rotationPeriodDays'] as number, ctx);
        return;
      case 'LowerMinDecryptionVersion':
        await lifecycle.setMinDecryptionVersion(op.targetId, p['minDecryptionVersion'] as number, ctx);
        return;
      case 'ScheduleKeyVersionDestruction':
        await lifecycle.scheduleKeyVersionDestruction(op.targetId, p['version'] as number, (p['delayDays'] as number | null) ?? undefined, ctx, p['overrideDependents'] === true);
        return;
      case 'RetireBeforeDependentsConfirmed':
        await lifecycle.disableKeyVersion(op.targetId, p['version'] as number, ctx, true);
        return;
      case 'SetKeyPolicy':
        await lifecycle.setKeyPolicy(op.targetId, { grants: p['grants'] } as KeyPolicy, ctx);
        return;
      case 'EnableKeyVersion':
        await lifecycle.enableKeyVersion(op.targetId, p['version'] as number, ctx);
        return;
      case 'ReportKeyCompromise':
        await lifecycle.reportKeyCompromise(op.targetId, (p['version'] as number | null) ?? undefined, ctx);
        return;
      case 'ReEnableIdentity':
        await identities.reEnable(op.targetId, ctx);
        return;
      case 'RotateCredential': {
        const { clientSecret } = await identities.rotateCredential(op.targetId, ctx);
        return { issuedCredential: { clientId: op.targetId, clientSecret } };
      }
      default: {
        const never: never = op.operation;
        throw new KmsError('ILLEGAL_TRANSITION', `unknown approved operation ${String(never)}`);
      }
    }
  };
}
