import type { NotificationFacts } from '../kinds/notification-kinds';
import type { DistributionList } from '../lists/distribution-list';

export type ChannelName = 'email' | 'slack';

/** What the receiving server answered: the SMTP message id and response, or the webhook's HTTP status. */
export interface DeliveryAnswer {
  recipients: string[];
  smtpMessageId?: string;
  smtpResponse?: string;
  httpStatus?: number;
}

/** A failure that will not go away by retrying (a webhook answering 404): dead-lettered at once. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

/** One way of telling a list (email, Slack). */
export interface NotificationChannel {
  readonly name: ChannelName;
  /** True when the list has somewhere to send on this channel. */
  targets(list: DistributionList): boolean;
  /** Deliver once; rejects on failure (the relay retries). */
  deliver(list: DistributionList, facts: NotificationFacts): Promise<DeliveryAnswer>;
  close?(): Promise<void>;
}
