// Break-glass escrow (docs/break-glass.md): each break-glass key's current seal, its custodians and
// who has counter-signed, the last recovery drill, and the destruction declarations still owed.
import { call, compliancePath } from '../api';
import { when } from '../format';
import { Link } from '../router';
import { ErrorBox, Page } from '../ui';
import { useLoad } from './use-load';

interface EscrowView {
  key_id: string;
  name: string;
  primary_version: number;
  current_seal: { version: number; ceremony_id: string; status: string; threshold: number; share_count: number; custodians: string[]; counter_signed: string[]; sealed_at: string | null } | null;
  last_drill_at: string | null;
  pending_declarations: Array<{ version: number; ceremony_id: string; custodians: string[]; declare_by: string | null; overdue: boolean }>;
  findings: string[];
}

export function EscrowPage() {
  const m = useLoad(async () => (await call<{ items: EscrowView[] }>('GET', compliancePath('escrow'))).items, []);
  return (
    <Page title="Break-glass escrow" testId="escrow-page">
      <ErrorBox error={m.error} testId="escrow-error" />
      {m.data && m.data.length === 0 ? <p className="muted">No break-glass key exists.</p> : null}
      {m.data && m.data.length > 0 ? (
        <table data-testid="escrow-table">
          <thead>
            <tr>
              <th>Key</th>
              <th>Current seal</th>
              <th>Custodians (counter-signed)</th>
              <th>Last drill</th>
              <th>Declarations owed</th>
              <th>Findings</th>
            </tr>
          </thead>
          <tbody>
            {m.data.map((k) => {
              const seal = k.current_seal;
              const overdue = k.pending_declarations.some((d) => d.overdue);
              return (
                <tr key={k.key_id} data-testid={`escrow-row-${k.key_id}`} data-findings={k.findings.length} className={k.findings.length > 0 || overdue ? 'status-fail' : 'status-pass'}>
                  <td>
                    <Link to={`/keys/${encodeURIComponent(k.key_id)}`}>{k.name}</Link>
                    <div className="muted">v{k.primary_version}</div>
                  </td>
                  <td data-testid="escrow-seal">
                    {seal ? (
                      <>
                        <span className="badge">{seal.status}</span> v{seal.version}, {seal.threshold} of {seal.share_count}
                        <div className="muted">{seal.sealed_at ? `sealed ${when(seal.sealed_at)}` : 'not sealed yet'}</div>
                      </>
                    ) : (
                      <span className="muted">no seal</span>
                    )}
                  </td>
                  <td data-testid="escrow-custodians">
                    {seal ? (
                      <ul>
                        {seal.custodians.map((c) => (
                          <li key={c}>
                            <code>{c}</code> {seal.counter_signed.includes(c) ? '✓ signed' : <span className="muted">not signed yet</span>}
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </td>
                  <td data-testid="escrow-last-drill">{k.last_drill_at ? when(k.last_drill_at) : <span className="muted">never</span>}</td>
                  <td data-testid="escrow-declarations">
                    {k.pending_declarations.length === 0 ? <span className="muted">none</span> : null}
                    <ul>
                      {k.pending_declarations.map((d) => (
                        <li key={d.ceremony_id} data-overdue={d.overdue}>
                          v{d.version}: {d.custodians.join(', ')} {d.declare_by ? `(due ${when(d.declare_by)})` : ''} {d.overdue ? <strong>overdue</strong> : null}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td data-testid="escrow-findings">{k.findings.length === 0 ? <span className="muted">none</span> : k.findings.join('; ')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}
