import { BadRequestException, Controller, Get, Header, Headers, Inject, Query, UnauthorizedException } from '@nestjs/common';
import { NoticesRuntime } from '../notices.runtime';

/** One page of recorded notices. */
export interface NoticePage {
  /** Structured-mode CloudEvents, in store position order. */
  notices: Array<Record<string, unknown>>;
  /** Pass as `after` to get the next page (the last position returned, or `after` when empty). */
  next: string;
}

const MAX_LIMIT = 1000;

/** GET /v1/notices?after=<position>&limit=<n>: recorded notices, with or without a broker. */
@Controller('v1/notices')
export class NoticesController {
  constructor(@Inject(NoticesRuntime) private readonly runtime: NoticesRuntime) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async list(@Query('after') after: string | undefined, @Query('limit') limit: string | undefined, @Headers('authorization') authorization: string | undefined): Promise<NoticePage> {
    await this.authorize(authorization);
    if (after !== undefined && !/^\d{1,19}$/.test(after)) throw new BadRequestException({ field: 'after', message: 'after must be a non-negative integer position' });
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new BadRequestException({ field: 'limit', message: `limit must be an integer from 1 to ${MAX_LIMIT}` });
    const from = BigInt(after ?? '0');
    const rows = await this.runtime.store.list(from, n);
    const last = rows[rows.length - 1];
    return { notices: rows.map((r) => r.cloudEvent), next: (last ? last.position : from).toString() };
  }

  /** Relay progress: checkpoint, lag, the notice it waits on. */
  @Get('status')
  @Header('Cache-Control', 'no-store')
  async status(@Headers('authorization') authorization: string | undefined): Promise<Record<string, unknown>> {
    await this.authorize(authorization);
    const relay = this.runtime.relay;
    const s = relay.snapshot();
    const lag = await relay.lag();
    return {
      mode: this.runtime.publisher ? this.runtime.publisher.description : 'record-only (no KAFKA_BROKERS)',
      state: s.state,
      checkpoint: s.checkpoint.toString(),
      handled: s.handled.toString(),
      head: lag.head.toString(),
      lagPositions: lag.positions.toString(),
      oldestUnpublishedSeconds: lag.oldestUnpublishedSeconds,
      waitingOn: s.waitingOn && { ...s.waitingOn, eventRecordedAt: s.waitingOn.eventRecordedAt.toISOString() },
      lastError: s.lastError,
      published: s.published,
      confirmations: this.runtime.confirmations ? { topic: this.runtime.confirmations.topic, ...this.runtime.confirmations.stats() } : null,
      recorded: s.recorded,
    };
  }

  private async authorize(authorization: string | undefined): Promise<void> {
    const check = this.runtime.authorizeRead;
    if (!check) return;
    let allowed: boolean;
    try {
      allowed = await check(authorization);
    } catch {
      allowed = false;
    }
    if (!allowed) throw new UnauthorizedException('a valid bearer token is required to read notices');
  }
}
