import type { NotificationFacts } from '../kinds/notification-kinds';
import type { DistributionList } from '../lists/distribution-list';
import { slackMessage } from '../message/notification-message';
import { type DeliveryAnswer, type NotificationChannel, PermanentDeliveryError } from './channel.port';

/** Slack: Block Kit JSON POSTed to the list's incoming webhook. */
export class SlackChannel implements NotificationChannel {
  readonly name = 'slack' as const;

  constructor(
    private readonly consoleUrl: string | null,
    private readonly timeoutMs = 15_000,
  ) {}

  targets(list: DistributionList): boolean {
    return list.slackWebhookUrl !== null;
  }

  async deliver(list: DistributionList, facts: NotificationFacts): Promise<DeliveryAnswer> {
    const url = list.slackWebhookUrl;
    if (!url) throw new PermanentDeliveryError(`list ${list.name} has no Slack webhook`);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slackMessage(facts, this.consoleUrl)),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // The body is read and dropped: it never holds anything to keep, and an error must not echo the URL.
    const body = (await response.text()).slice(0, 200);
    const recipients = [`slack:${list.name}`];
    if (response.ok) return { recipients, httpStatus: response.status };
    const problem = `Slack webhook answered HTTP ${response.status}${body ? ` (${body.replace(/\s+/g, ' ')})` : ''}`;
    // 4xx other than 408/429 (bad payload, removed webhook) will not get better by retrying.
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new PermanentDeliveryError(problem);
    throw new Error(problem);
  }
}
