/** A notice for people: approvals requested, granted, rejected, expired, executed; containment. */
export interface Notification {
  type: string;
  /** ISO time. */
  time: string;
  subject: Record<string, string | number | boolean | null>;
}

/** Where notifications go: a log sink now, Kafka when the rotation notices land. */
export interface NotificationSink {
  notify(n: Notification): Promise<void>;
}
export const NOTIFICATION_SINK = Symbol('NOTIFICATION_SINK');

/** Keeps notifications in memory (tests, and GET endpoints later). */
export class InMemoryNotificationSink implements NotificationSink {
  readonly notifications: Notification[] = [];
  async notify(n: Notification): Promise<void> {
    this.notifications.push(n);
  }
}
