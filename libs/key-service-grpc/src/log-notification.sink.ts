import { Logger } from '@nestjs/common';
import type { Notification, NotificationSink } from '@kms/application';

/** Notifications as one JSON log line each (the rotation issue adds Kafka). */
export class LogNotificationSink implements NotificationSink {
  private readonly logger = new Logger('kms-notifications');
  async notify(n: Notification): Promise<void> {
    this.logger.log(JSON.stringify(n));
  }
}
