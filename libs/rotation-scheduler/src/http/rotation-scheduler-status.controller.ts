import { Controller, Get, Inject } from '@nestjs/common';
import { RotationScheduler, type RotationSchedulerStatus } from '../rotation.scheduler';

/** GET /v1/rotation-scheduler/status: lag, last reconcile and queue counts (no key data). */
@Controller('v1/rotation-scheduler')
export class RotationSchedulerStatusController {
  constructor(@Inject(RotationScheduler) private readonly scheduler: RotationScheduler) {}

  @Get('status')
  status(): Promise<RotationSchedulerStatus> {
    return this.scheduler.status();
  }
}
