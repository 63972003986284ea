import type { NotificationFacts } from '../kinds/notification-kinds';

/** The rows every message shows, in order, with the facts that are known. */
function rows(facts: NotificationFacts, consoleUrl: string | null): Array<[string, string]> {
  const link = consoleLink(facts, consoleUrl);
  const out: Array<[string, string | undefined]> = [
    ['Kind', facts.kind],
    ['Severity', facts.severity],
    ['Operation', facts.operation],
    ['Key', facts.keyId],
    ['Tenant', facts.tenant ?? undefined],
    ['Requester', facts.requester],
    ['Approver', facts.approver],
    ['Change ticket', facts.changeTicket],
    ['Approval', facts.approvalId],
    ['Occurred at', facts.occurredAt],
    ...Object.entries(facts.details).map(([k, v]): [string, string] => [k, v]),
    ['Console', link ?? undefined],
    ['Event', facts.sourceEventId],
  ];
  return out.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
}

/** Where a person looks at it in the console: the approval, else the key. */
export function consoleLink(facts: NotificationFacts, consoleUrl: string | null): string | null {
  if (!consoleUrl) return null;
  const base = consoleUrl.replace(/\/+$/, '');
  if (facts.approvalId) return `${base}/approvals/${encodeURIComponent(facts.approvalId)}`;
  if (facts.keyId) return `${base}/keys/${encodeURIComponent(facts.keyId)}`;
  return base;
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Email subject, plain-text and HTML bodies. */
export function emailMessage(facts: NotificationFacts, consoleUrl: string | null): { subject: string; text: string; html: string } {
  const r = rows(facts, consoleUrl);
  const subject = `[KMS ${facts.severity}] ${facts.title}`.replace(/[\r\n]+/g, ' ').slice(0, 200);
  const width = Math.max(...r.map(([k]) => k.length));
  const text = `${facts.title}\n\n${r.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n\nSent by the key management service to a compliance distribution list.\n`;
  const link = consoleLink(facts, consoleUrl);
  const html =
    `<!doctype html><html><body><h2>${escapeHtml(facts.title)}</h2><table>` +
    r.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${k === 'Console' && link ? `<a href="${escapeHtml(link)}">${escapeHtml(v)}</a>` : escapeHtml(v)}</td></tr>`).join('') +
    '</table><p>Sent by the key management service to a compliance distribution list.</p></body></html>';
  return { subject, text, html };
}

// Slack mrkdwn treats &, < and > as control characters.
const escapeMrkdwn = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack Block Kit payload for an incoming webhook (`text` is the fallback for notifications). */
export function slackMessage(facts: NotificationFacts, consoleUrl: string | null): Record<string, unknown> {
  const r = rows(facts, consoleUrl).filter(([k]) => k !== 'Console');
  const link = consoleLink(facts, consoleUrl);
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: facts.title.slice(0, 150) } },
    // A section holds at most 10 fields.
    ...chunk(r, 10).map((part) => ({ type: 'section', fields: part.map(([k, v]) => ({ type: 'mrkdwn', text: `*${escapeMrkdwn(k)}*\n${escapeMrkdwn(v)}` })) })),
  ];
  if (link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the console' }, url: link }] });
  }
  return { text: `[KMS ${facts.severity}] ${facts.title}`, blocks };
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
