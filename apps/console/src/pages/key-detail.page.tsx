// A key's history (versions and state ledger with approvers and change tickets) and its evidence
// bundle (ustar archive, docs/audit-and-evidence.md) for an audit window.
import { type FormEvent, useState } from 'react';
import { call, compliancePath, download } from '../api';
import { when } from '../format';
import { Link } from '../router';
import { ErrorBox, Page } from '../ui';
import type { KeyView } from './keys.page';
import { useLoad } from './use-load';

interface History {
  key: KeyView;
  versions: Array<{ version: number; algorithm: string; protection_level: string; state: string; created_at: string; destroy_at: string | null; destroyed_at: string | null; public_key_fingerprint: string | null; origin: unknown }>;
  stateLedger: Array<{ position: string; version: number | null; event_type: string; from_state: string | null; to_state: string | null; occurred_at: string; actor: string; approvers: string[] | null; approval_id: string | null; change_ticket: string | null; reason: string | null }>;
}

export function KeyDetailPage({ keyId }: { keyId: string }) {
  const history = useLoad(() => call<History>('GET', compliancePath(`keys/${encodeURIComponent(keyId)}/history`)), [keyId]);
  const [auditWindow, setAuditWindow] = useState({ from: '', to: '' });
  const [downloadError, setDownloadError] = useState<unknown>();
  const [downloaded, setDownloaded] = useState<string>();

  const getEvidence = async (e: FormEvent) => {
    e.preventDefault();
    setDownloadError(undefined);
    setDownloaded(undefined);
    try {
      const range = {
        from: auditWindow.from ? new Date(auditWindow.from).toISOString() : undefined,
        to: auditWindow.to ? new Date(auditWindow.to).toISOString() : undefined,
      };
      const { blob, filename } = await download(compliancePath(`evidence/keys/${encodeURIComponent(keyId)}`, range));
      const name = filename ?? `evidence-${keyId}.tar`;
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDownloaded(`${name} (${blob.size} bytes)`);
    } catch (err) {
      setDownloadError(err);
    }
  };

  const h = history.data;
  return (
    <Page title={h ? `Key ${h.key.tenant}/${h.key.name}` : 'Key'} testId="key-detail-page">
      <p>
        <Link to="/keys">← all keys</Link>
      </p>
      <ErrorBox error={history.error} testId="key-error" />
      {h ? (
        <>
          <dl className="facts" data-testid="key-facts">
            <dt>Id</dt>
            <dd>{h.key.key_id}</dd>
            <dt>Owner</dt>
            <dd>{h.key.owner ?? '—'}</dd>
            <dt>Purpose</dt>
            <dd>{h.key.purpose}</dd>
            <dt>Algorithm</dt>
            <dd>{h.key.algorithm}</dd>
            <dt>Protection level</dt>
            <dd>{h.key.protection_level}</dd>
            <dt>State</dt>
            <dd>{h.key.status}</dd>
            <dt>Labels</dt>
            <dd>{Object.entries(h.key.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
            <dt>Rotation</dt>
            <dd>
              every {h.key.rotation_period_days} days; next {when(h.key.next_rotation_at)}
            </dd>
          </dl>
          <h2>Versions</h2>
          <table data-testid="key-versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>Algorithm</th>
                <th>Protection</th>
                <th>State</th>
                <th>Created</th>
                <th>Destroyed</th>
                <th>Public key fingerprint</th>
              </tr>
            </thead>
            <tbody>
              {h.versions.map((v) => (
                <tr key={v.version}>
                  <td>{v.version}</td>
                  <td>{v.algorithm}</td>
                  <td>{v.protection_level}</td>
                  <td>{v.state}</td>
                  <td>{when(v.created_at)}</td>
                  <td>{v.destroyed_at ? when(v.destroyed_at) : v.destroy_at ? `due ${when(v.destroy_at)}` : '—'}</td>
                  <td>
                    <code>{v.public_key_fingerprint ?? '—'}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>State ledger</h2>
          <table data-testid="key-ledger">
            <thead>
              <tr>
                <th>When</th>
                <th>Event</th>
                <th>Version</th>
                <th>From → to</th>
                <th>Actor</th>
                <th>Approvers</th>
                <th>Change ticket</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {h.stateLedger.map((l) => (
                <tr key={l.position}>
                  <td>{when(l.occurred_at)}</td>
                  <td>{l.event_type}</td>
                  <td>{l.version ?? '—'}</td>
                  <td>
                    {l.from_state ?? '—'} → {l.to_state ?? '—'}
                  </td>
                  <td>{l.actor}</td>
                  <td>{l.approvers?.join(', ') || '—'}</td>
                  <td>{l.change_ticket ?? '—'}</td>
                  <td>{l.reason ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Evidence bundle</h2>
          <form className="filters" onSubmit={(e) => void getEvidence(e)}>
            <label>
              Audit window from
              <input type="datetime-local" data-testid="evidence-from" value={auditWindow.from} onChange={(e) => setAuditWindow({ ...auditWindow, from: e.target.value })} />
            </label>
            <label>
              to
              <input type="datetime-local" data-testid="evidence-to" value={auditWindow.to} onChange={(e) => setAuditWindow({ ...auditWindow, to: e.target.value })} />
            </label>
            <button type="submit" data-testid="evidence-download">
              Download evidence bundle
            </button>
          </form>
          <ErrorBox error={downloadError} testId="evidence-error" />
          {downloaded ? (
            <p className="ok" data-testid="evidence-downloaded">
              Downloaded {downloaded}
            </p>
          ) : null}
          <p>
            <Link to={`/audit?keyId=${h.key.key_id}`} data-testid="key-audit-link">
              Audit records of this key
            </Link>
          </p>
        </>
      ) : null}
    </Page>
  );
}
