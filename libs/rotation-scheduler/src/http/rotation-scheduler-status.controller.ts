import { Controller, Get, Headers, Inject, UnauthorizedException } from '@nestjs/common';
import { RotationScheduler, type RotationSchedulerStatus } from '../rotation.scheduler';

/** Injection token: who may read the status (see RotationSchedulerDependencies.authorizeRead). */
export const STATUS_READERS = Symbol('ROTATION_SCHEDULER_STATUS_READERS');

/**
 * GET /v1/rotation-scheduler/status: lag, last reconcile and queue counts. No key data, but key ids
 * and deadlines: readers authenticate like every other caller (only health and metrics are open).
 */
@Controller('v1/rotation-scheduler')
export class RotationSchedulerStatusController {
  constructor(
    @Inject(RotationScheduler) private readonly scheduler: RotationScheduler,
    @Inject(STATUS_READERS) private readonly mayRead: (authorization: string | undefined) => Promise<boolean>,
  ) {}

  @Get('status')
  async status(@Headers('authorization') authorization: string | undefined): Promise<RotationSchedulerStatus> {
    const allowed = await this.mayRead(authorization).catch(() => false);
    if (!allowed) throw new UnauthorizedException('a valid bearer token of a person who may read keys is required to read the scheduler status');
    return this.scheduler.status();
  }
}
