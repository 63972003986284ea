import { CliUsageError } from '../request/cli-usage.error';

interface Divergence {
  source: string;
  position: string | null;
  recordId: string | null;
  streamId?: string;
  streamVersion?: number;
  problem: string;
}

interface Report {
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  checked: { events: number; auditRecords: number; leaves: { events: number; audit: number } };
  divergences: Divergence[];
}

function describe(d: Divergence): string {
  const record = d.source === 'events' ? `${d.streamId ?? '?'} version ${d.streamVersion ?? '?'}` : (d.recordId ?? '-');
  return `${d.source}\tposition ${d.position ?? '-'}\t${record}\t${d.problem}`;
}

/**
 * `kms reconcile-ledger`: ask the audit projector to re-read the source tables against the ledger now
 * (POST /v1/ledger/reconciliations) and print what it found, one divergence per line naming the
 * record. Exit 0 when everything agrees, 1 on any divergence or refusal, so it can gate a script.
 */
export async function reconcileLedger(
  httpUrl: string,
  token: string | undefined,
  options: { json: boolean },
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
): Promise<number> {
  if (!token) throw new CliUsageError('reconcile-ledger needs a token: set KMS_TOKEN or --token (a compliance-officer or security-engineering person)', 'token');
  const res = await fetch(`${httpUrl}/v1/ledger/reconciliations`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) {
    io.stderr(`reconciliation refused: HTTP ${res.status} ${await res.text()}\n`);
    return 1;
  }
  const report = (await res.json()) as Report;
  if (options.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  const checked = `${report.checked.events} events, ${report.checked.auditRecords} audit records, ${report.checked.leaves.events + report.checked.leaves.audit} ledger leaves`;
  if (report.ok) {
    io.stdout(`OK: the source tables and the ledger agree (${checked}; finished ${report.finishedAt})\n`);
    return 0;
  }
  io.stdout(`DIVERGED: ${report.divergences.length} record(s) differ between the source tables and the ledger (${checked}; finished ${report.finishedAt})\n`);
  for (const d of report.divergences) io.stdout(`${describe(d)}\n`);
  return 1;
}
