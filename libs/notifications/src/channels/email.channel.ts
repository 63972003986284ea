import { createTransport, type Transporter } from 'nodemailer';
import type { NotificationFacts } from '../kinds/notification-kinds';
import type { DistributionList } from '../lists/distribution-list';
import { emailMessage } from '../message/notification-message';
import { type DeliveryAnswer, type NotificationChannel, PermanentDeliveryError } from './channel.port';

/** SMTP relay settings (config.notifications.smtp). */
export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used whenever the server offers it. */
  secure: boolean;
  /** Refuse to send unless the server offers STARTTLS. */
  requireTls: boolean;
  from: string;
  /** Absent: no AUTH. */
  auth?: { user: string; password: () => string };
  /** PEM CA bundle to trust for the server's certificate (absent: the system's). */
  ca?: string;
  /** Seconds to wait for the connection / greeting / each command. Default 30. */
  timeoutSeconds?: number;
}

/** Email over SMTP with nodemailer: one message per list, to all its addresses. */
export class EmailChannel implements NotificationChannel {
  readonly name = 'email' as const;
  private readonly transport: Transporter;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly consoleUrl: string | null,
  ) {
    const timeout = (settings.timeoutSeconds ?? 30) * 1000;
    this.transport = createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      requireTLS: settings.requireTls,
      ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.password() } } : {}),
      ...(settings.ca ? { tls: { ca: settings.ca } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  targets(list: DistributionList): boolean {
    return list.emails.length > 0;
  }

  async deliver(list: DistributionList, facts: NotificationFacts): Promise<DeliveryAnswer> {
    const m = emailMessage(facts, this.consoleUrl);
    try {
      const info = await this.transport.sendMail({
        from: this.settings.from,
        to: list.emails,
        subject: m.subject,
        text: m.text,
        html: m.html,
        headers: { 'X-KMS-Notification': `${facts.kind}; event=${facts.sourceEventId}; list=${list.name}` },
      });
      return { recipients: [...list.emails], smtpMessageId: String(info.messageId), smtpResponse: String(info.response) };
    } catch (e) {
      // 5xx on every recipient is the server refusing the message itself: retrying changes nothing.
      const code = (e as { responseCode?: unknown }).responseCode;
      if (typeof code === 'number' && code >= 500 && code < 600 && code !== 554) throw new PermanentDeliveryError(`SMTP ${code}: ${(e as Error).message}`);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
