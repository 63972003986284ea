import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { Secret } from './config-error';
import { envVar, failOn } from './env-schema';

/** Compliance notifications by email and Slack (docs/notifications.md). */
export interface NotificationsConfig {
  /** KMS_SMTP_*: the SMTP relay; null without KMS_SMTP_HOST (no email is sent, Slack still is). */
  smtp: {
    host: string;
    /** KMS_SMTP_PORT, default 587 (465 with KMS_SMTP_SECURE). */
    port: number;
    /** KMS_SMTP_SECURE: implicit TLS; otherwise STARTTLS whenever the server offers it. */
    secure: boolean;
    /** KMS_SMTP_REQUIRE_TLS: refuse to send unless the server offers STARTTLS. */
    requireTls: boolean;
    /** KMS_SMTP_FROM, default kms@localhost. */
    from: string;
    /** KMS_SMTP_USER / KMS_SMTP_PASSWORD: AUTH, only when both are set. */
    auth: { user: string; password: Secret<string> } | null;
    /** KMS_SMTP_CA_FILE: PEM CA bundle for the server's certificate, read at boot. */
    ca: string | null;
  } | null;
  /** KMS_NOTIFICATION_CONSOLE_URL: base of the console links in messages; unset: the key service uses its first console origin. */
  consoleUrl: string | null;
  /** KMS_NOTIFICATION_LISTS: JSON array of lists (webhook URLs inside, hence secret), validated by the notifications module. */
  lists: Secret<unknown[]>;
  /** KMS_NOTIFICATION_MAX_ATTEMPTS (20): attempts per delivery before it is dead-lettered. */
  maxAttempts: number;
  /** KMS_NOTIFICATION_RETRY_INITIAL_MS (1000) doubling up to KMS_NOTIFICATION_RETRY_MAX_MS (300000). */
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** KMS_NOTIFICATION_MAX_LAG_SECONDS (1800): readiness fails when a delivery waited longer. */
  maxLagSeconds: number;
}

/** The notifications section. */
export const notificationsSchema = (cwd: string) =>
  z
    .object({
      KMS_SMTP_HOST: envVar.text(null),
      KMS_SMTP_PORT: envVar.integer(null, 1, 65535),
      KMS_SMTP_SECURE: envVar.boolean(false),
      KMS_SMTP_REQUIRE_TLS: envVar.boolean(false),
      KMS_SMTP_FROM: envVar.text('kms@localhost'),
      KMS_SMTP_USER: envVar.text(null),
      KMS_SMTP_PASSWORD: envVar.text(null),
      KMS_SMTP_CA_FILE: envVar.path(cwd),
      KMS_NOTIFICATION_CONSOLE_URL: envVar.optionalUrl(['https:', 'http:']),
      KMS_NOTIFICATION_LISTS: envVar.text(null),
      KMS_NOTIFICATION_MAX_ATTEMPTS: envVar.integer(20, 1, 1000),
      KMS_NOTIFICATION_RETRY_INITIAL_MS: envVar.integer(1000, 1, 3_600_000),
      KMS_NOTIFICATION_RETRY_MAX_MS: envVar.integer(300_000, 1, 86_400_000),
      KMS_NOTIFICATION_MAX_LAG_SECONDS: envVar.positiveNumber(1800),
    })
    .transform((v, ctx): NotificationsConfig => {
      let lists: unknown[] = [];
      if (v.KMS_NOTIFICATION_LISTS) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(v.KMS_NOTIFICATION_LISTS);
        } catch {
          // Never echo the value: it holds webhook URLs.
          return failOn(ctx, 'KMS_NOTIFICATION_LISTS', 'must be a JSON array of lists');
        }
        if (!Array.isArray(parsed)) return failOn(ctx, 'KMS_NOTIFICATION_LISTS', 'must be a JSON array of lists');
        lists = parsed;
      }
      if ((v.KMS_SMTP_USER === null) !== (v.KMS_SMTP_PASSWORD === null)) return failOn(ctx, v.KMS_SMTP_USER === null ? 'KMS_SMTP_USER' : 'KMS_SMTP_PASSWORD', 'set both KMS_SMTP_USER and KMS_SMTP_PASSWORD, or neither');
      if (v.KMS_NOTIFICATION_RETRY_MAX_MS < v.KMS_NOTIFICATION_RETRY_INITIAL_MS) return failOn(ctx, 'KMS_NOTIFICATION_RETRY_MAX_MS', 'must be at least KMS_NOTIFICATION_RETRY_INITIAL_MS');
      let ca: string | null = null;
      if (v.KMS_SMTP_CA_FILE) {
        try {
          ca = readFileSync(resolve(cwd, v.KMS_SMTP_CA_FILE), 'utf8');
        } catch (e) {
          return failOn(ctx, 'KMS_SMTP_CA_FILE', `cannot be read: ${(e as Error).message}`);
        }
      }
      return {
        smtp: v.KMS_SMTP_HOST
          ? {
              host: v.KMS_SMTP_HOST,
              port: v.KMS_SMTP_PORT ?? (v.KMS_SMTP_SECURE ? 465 : 587),
              secure: v.KMS_SMTP_SECURE,
              requireTls: v.KMS_SMTP_REQUIRE_TLS,
              from: v.KMS_SMTP_FROM,
              auth: v.KMS_SMTP_USER && v.KMS_SMTP_PASSWORD ? { user: v.KMS_SMTP_USER, password: new Secret(v.KMS_SMTP_PASSWORD) } : null,
              ca,
            }
          : null,
        consoleUrl: v.KMS_NOTIFICATION_CONSOLE_URL ?? null,
        lists: new Secret(lists),
        maxAttempts: v.KMS_NOTIFICATION_MAX_ATTEMPTS,
        initialRetryDelayMs: v.KMS_NOTIFICATION_RETRY_INITIAL_MS,
        maxRetryDelayMs: v.KMS_NOTIFICATION_RETRY_MAX_MS,
        maxLagSeconds: v.KMS_NOTIFICATION_MAX_LAG_SECONDS,
      };
    });
