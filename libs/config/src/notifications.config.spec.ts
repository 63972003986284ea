import { ConfigError } from './config-error';
import { testConfig } from './testing';

const notifications = (env: Record<string, string>) => testConfig(env).notifications;

describe('notifications configuration', () => {
  it('defaults to no SMTP relay, no configured list and 20 attempts from 1 s doubling to 5 min', () => {
    const n = notifications({});
    expect(n).toMatchObject({ smtp: null, consoleUrl: null, maxAttempts: 20, initialRetryDelayMs: 1000, maxRetryDelayMs: 300_000, maxLagSeconds: 1800 });
    expect(n.lists.reveal()).toEqual([]);
  });

  it('reads the SMTP relay with STARTTLS by default, port 587, and AUTH only with user and password', () => {
    const n = notifications({ KMS_SMTP_HOST: 'smtp.example.test', KMS_SMTP_USER: 'kms', KMS_SMTP_PASSWORD: 'pw', KMS_SMTP_FROM: 'kms@example.test' });
    expect(n.smtp).toMatchObject({ host: 'smtp.example.test', port: 587, secure: false, requireTls: false, from: 'kms@example.test', ca: null });
    expect(n.smtp?.auth?.password.reveal()).toBe('pw');
    expect(notifications({ KMS_SMTP_HOST: 'smtp.example.test', KMS_SMTP_SECURE: 'true' }).smtp).toMatchObject({ port: 465, secure: true, auth: null });
  });

  it('keeps the lists and the SMTP password out of logs', () => {
    const n = notifications({ KMS_SMTP_HOST: 'h', KMS_SMTP_USER: 'u', KMS_SMTP_PASSWORD: 'hunter2', KMS_NOTIFICATION_LISTS: '[{"name":"c","slack_webhook_url":"https://hooks.example.test/T/B/tok"}]' });
    expect(JSON.stringify(n)).not.toMatch(/hunter2|tok/);
    expect(n.lists.reveal()).toEqual([{ name: 'c', slack_webhook_url: 'https://hooks.example.test/T/B/tok' }]);
  });

  it('names the bad variable without echoing a secret', () => {
    const bad = (env: Record<string, string>): ConfigError => {
      try {
        notifications(env);
      } catch (e) {
        if (e instanceof ConfigError) return e;
      }
      throw new Error('accepted');
    };
    const lists = bad({ KMS_NOTIFICATION_LISTS: '{"slack_webhook_url":"https://hooks.example.test/secret-token"' });
    expect(lists.variable).toBe('KMS_NOTIFICATION_LISTS');
    expect(lists.message).not.toContain('secret-token');
    expect(bad({ KMS_SMTP_HOST: 'h', KMS_SMTP_USER: 'u' }).variable).toBe('KMS_SMTP_PASSWORD');
    expect(bad({ KMS_SMTP_PORT: '0' }).variable).toBe('KMS_SMTP_PORT');
    expect(bad({ KMS_NOTIFICATION_RETRY_INITIAL_MS: '5000', KMS_NOTIFICATION_RETRY_MAX_MS: '10' }).variable).toBe('KMS_NOTIFICATION_RETRY_MAX_MS');
    expect(bad({ KMS_SMTP_CA_FILE: '/nonexistent/ca.pem' }).variable).toBe('KMS_SMTP_CA_FILE');
  });
});
