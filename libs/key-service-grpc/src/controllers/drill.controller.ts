import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { DrillLogService } from '@kms/application';
import { type CloseDrillFollowUpRequest__Output, KMS_SERVICE, type RecordDrillRequest__Output } from '@kms/contracts';
import type { DrillFollowUpState, DrillState, DrillStatus } from '@kms/domain';
import { CallGate } from '../call-gate';

type Call = ServerUnaryCall<unknown, unknown>;

function followUpToProto(drillId: string, f: DrillFollowUpState & { overdue?: boolean }) {
  return {
    drill_id: drillId,
    follow_up_id: f.followUpId,
    owner: f.owner,
    action: f.action,
    due_date: f.dueDate,
    overdue: f.overdue ?? false,
    closed_at: f.closed?.at ?? '',
    closed_by: f.closed?.by ?? '',
    note: f.closed?.note ?? '',
  };
}

function drillToProto(d: DrillState) {
  return {
    drill_id: d.drillId,
    date: d.date,
    participants: d.participants,
    archive: d.archive,
    outcome: d.outcome,
    follow_ups: d.followUps.map((f) => followUpToProto(d.drillId, f)),
    recorded_at: d.recordedAt,
    recorded_by: d.recordedBy,
  };
}

function statusToProto(s: DrillStatus, recorded?: DrillState) {
  return {
    ...(s.lastDrill ? { last_drill: drillToProto(s.lastDrill) } : {}),
    monthly_drill_overdue: s.monthlyDrillOverdue,
    next_drill_due: s.nextDrillDue ?? '',
    open_follow_ups: s.openFollowUps.map((f) => followUpToProto(f.drillId, f)),
    ...(recorded ? { recorded: drillToProto(recorded) } : {}),
  };
}

/** kms.v1.KeyManagementService, backup-restore drills: thin — admit the caller, call the drill log. */
@Controller()
export class DrillController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(DrillLogService) private readonly drills: DrillLogService,
  ) {}

  @GrpcMethod(KMS_SERVICE, 'RecordDrill')
  recordDrill(req: RecordDrillRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('RecordDrill', req, metadata, call, async (scope) => {
      const input = { date: req.date, participants: req.participants, archive: req.archive, outcome: req.outcome, followUps: req.follow_ups };
      const { drill, status } = await this.drills.record(input, scope.principal.identityId, scope.ctx.requestId, scope.facts);
      return statusToProto(status, drill);
    });
  }

  @GrpcMethod(KMS_SERVICE, 'CloseDrillFollowUp')
  closeDrillFollowUp(req: CloseDrillFollowUpRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('CloseDrillFollowUp', req, metadata, call, async (scope) =>
      statusToProto(await this.drills.closeFollowUp(req.drill_id, req.follow_up_id, req.note, scope.principal.identityId, scope.ctx.requestId, scope.facts)),
    );
  }

  @GrpcMethod(KMS_SERVICE, 'ReportDrillsOverdue')
  reportDrillsOverdue(req: unknown, metadata: Metadata, call: Call) {
    return this.gate.runChange('ReportDrillsOverdue', req ?? {}, metadata, call, async (scope) => {
      const { reported, status } = await this.drills.reportOverdue(scope.principal.identityId, scope.ctx.requestId, scope.facts);
      return {
        reported: reported.map((a) => ({ subject: a.subject, due_date: a.dueDate, ...(a.subject === 'FOLLOW_UP' ? { drill_id: a.drillId, follow_up_id: a.followUpId, owner: a.owner } : {}) })),
        status: statusToProto(status),
      };
    });
  }

  @GrpcMethod(KMS_SERVICE, 'GetDrillStatus')
  getDrillStatus(_req: unknown, metadata: Metadata, call: Call) {
    return this.gate.run('GetDrillStatus', metadata, call, async () => statusToProto(await this.drills.status()));
  }
}
