import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { StoredEvent } from '@kms/event-store';
import { z } from 'zod';
import { atLeast, NOTIFICATION_SEVERITIES, type NotificationFacts, type NotificationSeverity } from '../kinds/notification-kinds';

/** Stream of one list's history: `notification-list-<name>`. */
export const DISTRIBUTION_LIST_STREAM_PREFIX = 'notification-list-';
export const distributionListStreamId = (name: string): string => `${DISTRIBUTION_LIST_STREAM_PREFIX}${name}`;

/** Who is told about what: email addresses and/or one Slack incoming webhook, for some kinds, severities and tenants. */
export interface DistributionList {
  name: string;
  emails: string[];
  /** The incoming-webhook URL, in clear only in memory; stored wrapped, shown redacted. */
  slackWebhookUrl: string | null;
  /** Kind names, or `*` for every kind. */
  kinds: string[];
  minSeverity: NotificationSeverity;
  /** Tenants, or `*` for every tenant (and notifications without one). */
  tenants: string[];
  /** `configuration` (KMS_NOTIFICATION_LISTS) or `api` (managed over HTTP, in the event store). */
  origin: 'configuration' | 'api';
}

/** A list as the API shows it: the webhook reduced to its host, never the URL. */
export interface RedactedDistributionList extends Omit<DistributionList, 'slackWebhookUrl'> {
  slackWebhook: string | null;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** What a caller may send to define a list (snake_case as the HTTP API takes it). */
export const distributionListInput = z.object({
  emails: z.array(z.email({ message: 'must be email addresses' })).max(100).default([]),
  slack_webhook_url: z
    .url({ message: 'must be an https URL' })
    .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u), 'must be an https URL (http only on loopback)')
    .nullable()
    .default(null),
  kinds: z.array(z.string().regex(/^(\*|[a-z0-9.-]{1,64})$/, 'must be kind names such as approval.requested, or *')).min(1).default(['*']),
  min_severity: z.enum(NOTIFICATION_SEVERITIES).default('info'),
  tenants: z.array(z.string().min(1).max(128)).min(1).default(['*']),
});
export type DistributionListInput = z.input<typeof distributionListInput>;

/** Validation failure naming the field. */
export class DistributionListInvalid extends Error {
  override readonly name = 'DistributionListInvalid';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Validate a list definition; the error names the first bad field. */
export function parseDistributionList(name: unknown, input: unknown, origin: DistributionList['origin']): DistributionList {
  if (typeof name !== 'string' || !NAME.test(name)) throw new DistributionListInvalid('name', 'must be 1-63 lowercase letters, digits or dashes');
  const parsed = distributionListInput.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DistributionListInvalid(issue?.path.join('.') || 'body', issue?.message ?? 'invalid');
  }
  const v = parsed.data;
  if (v.emails.length === 0 && !v.slack_webhook_url) throw new DistributionListInvalid('emails', 'a list needs email addresses or a slack_webhook_url');
  return { name, emails: v.emails, slackWebhookUrl: v.slack_webhook_url, kinds: v.kinds, minSeverity: v.min_severity, tenants: v.tenants, origin };
}

/** The list without its secret: the webhook's host only. */
export function redact(list: DistributionList): RedactedDistributionList {
  const { slackWebhookUrl, ...rest } = list;
  return { ...rest, slackWebhook: slackWebhookUrl ? `${new URL(slackWebhookUrl).origin}/…` : null };
}

/** True when the list wants to hear about these facts. */
export function listWants(list: DistributionList, facts: NotificationFacts): boolean {
  const kind = list.kinds.includes('*') || list.kinds.includes(facts.kind);
  const tenant = list.tenants.includes('*') || (facts.tenant !== null && list.tenants.includes(facts.tenant));
  return kind && tenant && atLeast(facts.severity, list.minSeverity);
}

/**
 * Wraps list secrets (webhook URLs) with AES-256-GCM under a key derived from the master key, bound
 * to the list's name, as TOTP secrets are: the event store never holds them in clear.
 */
export class ListSecretWrapper {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the list secret wrap key must be 32 bytes');
  }

  wrap(list: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`kms-notification-list-v1:${list}`));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  unwrap(list: string, wrapped: string): string {
    const bytes = Buffer.from(wrapped, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(`kms-notification-list-v1:${list}`));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`the webhook of list ${list} does not unwrap under this master key`);
    }
  }
}

/** Event data of a saved list: the webhook wrapped. */
export interface DistributionListSavedData {
  name: string;
  emails: string[];
  slackWebhookWrapped: string | null;
  kinds: string[];
  minSeverity: NotificationSeverity;
  tenants: string[];
}

/** The events a list change appends (webhook wrapped). */
export function listSavedEvent(list: DistributionList, wrapper: ListSecretWrapper): { type: 'DistributionListSaved'; data: DistributionListSavedData } {
  return {
    type: 'DistributionListSaved',
    data: {
      name: list.name,
      emails: list.emails,
      slackWebhookWrapped: list.slackWebhookUrl ? wrapper.wrap(list.name, list.slackWebhookUrl) : null,
      kinds: list.kinds,
      minSeverity: list.minSeverity,
      tenants: list.tenants,
    },
  };
}

/**
 * Current lists: those of the configuration, overlaid by those saved over the API (a list saved
 * under a configured name replaces it; removing it brings the configured one back).
 */
export class DistributionLists {
  private readonly saved = new Map<string, DistributionList>();

  constructor(
    private readonly configured: readonly DistributionList[],
    private readonly wrapper: ListSecretWrapper,
  ) {}

  /** Apply a store event (others are ignored). */
  apply(e: StoredEvent): void {
    if (e.type === 'DistributionListSaved') {
      const d = e.data as unknown as DistributionListSavedData;
      this.saved.set(d.name, {
        name: d.name,
        emails: d.emails,
        slackWebhookUrl: d.slackWebhookWrapped ? this.wrapper.unwrap(d.name, d.slackWebhookWrapped) : null,
        kinds: d.kinds,
        minSeverity: d.minSeverity,
        tenants: d.tenants,
        origin: 'api',
      });
    } else if (e.type === 'DistributionListRemoved') {
      this.saved.delete(String(e.data['name']));
    }
  }

  all(): DistributionList[] {
    const byName = new Map<string, DistributionList>(this.configured.map((l) => [l.name, l]));
    for (const [name, l] of this.saved) byName.set(name, l);
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  isSaved(name: string): boolean {
    return this.saved.has(name);
  }
}
