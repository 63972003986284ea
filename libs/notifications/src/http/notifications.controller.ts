import { Body, Controller, Delete, Get, Header, Headers, HttpCode, Inject, Param, Put, Query } from '@nestjs/common';
import { invalidArgument } from '@kms/domain';
import { DistributionListInvalid, redact, type RedactedDistributionList } from '../lists/distribution-list';
import { type NotificationCallScope, type NotificationOperation, NotificationsRuntime } from '../notifications.runtime';
import type { DeliveryRecord } from '../relay/notification-deliveries';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Distribution lists (security engineering defines them; every change is an audited event) and the
 * delivery records (compliance reads which list was told about which operation, and when).
 */
@Controller('v1')
export class NotificationsController {
  constructor(@Inject(NotificationsRuntime) private readonly runtime: NotificationsRuntime) {}

  @Get('notification-lists')
  @Header('Cache-Control', 'no-store')
  lists(@Headers('authorization') authorization: string | undefined): Promise<{ lists: RedactedDistributionList[] }> {
    return this.call('ListNotificationLists', authorization, 'GET /v1/notification-lists', async () => ({ lists: this.runtime.lists.all().map(redact) }));
  }

  @Put('notification-lists/:name')
  save(
    @Param('name') name: string,
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-change-ticket') changeTicket: string | undefined,
  ): Promise<RedactedDistributionList> {
    return this.call('SaveNotificationList', authorization, 'PUT /v1/notification-lists/{name}', (scope) => this.runtime.saveList(scope, name, body), { change: true, request: { name, body }, changeTicket });
  }

  @Delete('notification-lists/:name')
  @HttpCode(204)
  async remove(@Param('name') name: string, @Headers('authorization') authorization: string | undefined, @Headers('x-change-ticket') changeTicket: string | undefined): Promise<void> {
    await this.call('RemoveNotificationList', authorization, 'DELETE /v1/notification-lists/{name}', (scope) => this.runtime.removeList(scope, name), { change: true, request: { name }, changeTicket });
  }

  /** GET /v1/notification-deliveries?approval_id=&key_id=&kind=: who was told, by which channel, what the server answered. */
  @Get('notification-deliveries')
  @Header('Cache-Control', 'no-store')
  deliveries(
    @Query('approval_id') approvalId: string | undefined,
    @Query('key_id') keyId: string | undefined,
    @Query('kind') kind: string | undefined,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<{ deliveries: DeliveryRecord[] }> {
    return this.call('ListNotificationDeliveries', authorization, 'GET /v1/notification-deliveries', async () => {
      if (approvalId !== undefined && !UUID.test(approvalId)) throw invalidArgument('approval_id', 'must be an approval request id (UUID)');
      if (keyId !== undefined && (keyId.length === 0 || keyId.length > 200)) throw invalidArgument('key_id', 'must be a key id');
      return { deliveries: this.runtime.relay.deliveries.find({ ...(approvalId ? { approvalId } : {}), ...(keyId ? { keyId } : {}), ...(kind ? { kind } : {}) }) };
    });
  }

  /** Relay progress: checkpoint, backlog, the delivery in progress, dead letters. */
  @Get('notifications/status')
  @Header('Cache-Control', 'no-store')
  status(@Headers('authorization') authorization: string | undefined): Promise<Record<string, unknown>> {
    return this.call('GetNotificationStatus', authorization, 'GET /v1/notifications/status', async () => {
      const s = this.runtime.relay.snapshot();
      const lag = await this.runtime.relay.lag();
      return {
        state: s.state,
        checkpoint: s.checkpoint.toString(),
        handled: s.handled.toString(),
        head: lag.head.toString(),
        lagPositions: lag.positions.toString(),
        oldestUndeliveredSeconds: lag.oldestUndeliveredSeconds,
        waitingOn: s.waitingOn && { ...s.waitingOn, eventRecordedAt: s.waitingOn.eventRecordedAt.toISOString() },
        delivered: s.delivered,
        deadLettered: s.deadLettered,
        lastError: s.lastError,
      };
    });
  }

  /** Every route through the KMS's call pipeline (authenticated, role matrix, audited, refusals too); invalid lists name their field. */
  private call<T>(
    operation: NotificationOperation,
    authorization: string | undefined,
    route: string,
    work: (scope: NotificationCallScope) => Promise<T>,
    options: { change?: boolean; request?: unknown; changeTicket?: string | undefined } = {},
  ): Promise<T> {
    const ticket = options.changeTicket?.trim();
    const call = { operation, authorization, route, change: options.change === true, ...(options.request !== undefined ? { request: options.request } : {}), ...(ticket ? { changeTicket: ticket } : {}) };
    return this.runtime.calls.run(call, async (scope) => {
      try {
        return await work(scope);
      } catch (e) {
        if (e instanceof DistributionListInvalid) throw invalidArgument(e.field, e.message);
        throw e;
      }
    });
  }
}
