// The control matrix (seed 001's dashboard): each policy control, its computed status and finding,
// its owner, and links to the evidence artifacts an auditor clicks through.
import { call, compliancePath } from '../api';
import { evidenceRoute, when } from '../format';
import { Link } from '../router';
import { ErrorBox, Page } from '../ui';
import { useLoad } from './use-load';

interface Control {
  id: string;
  requirement: string;
  status: string;
  finding: string;
  evidence: string[];
  owner?: string;
}

export function ControlsPage() {
  const m = useLoad(() => call<{ generatedAt: string; controls: Control[] }>('GET', compliancePath('controls')), []);
  return (
    <Page title="Control matrix" testId="controls-page">
      <ErrorBox error={m.error} testId="controls-error" />
      {m.data ? (
        <>
          <p className="muted">Computed by the KMS at {when(m.data.generatedAt)} from its read models.</p>
          <table data-testid="controls-table">
            <thead>
              <tr>
                <th>Control</th>
                <th>Requirement</th>
                <th>Status</th>
                <th>Finding</th>
                <th>Owner</th>
                <th>Evidence</th>
              </tr>
            </thead>
            <tbody>
              {m.data.controls.map((c) => (
                <tr key={c.id} data-testid={`control-row-${c.id}`} className={`status-${c.status.toLowerCase()}`}>
                  <td>{c.id}</td>
                  <td>{c.requirement}</td>
                  <td data-testid="control-status">
                    <span className="badge">{c.status}</span>
                  </td>
                  <td>{c.finding}</td>
                  <td data-testid="control-owner">{c.owner ?? <span className="muted">not recorded by the server</span>}</td>
                  <td>
                    {c.evidence.length === 0 ? <span className="muted">none</span> : null}
                    <ul>
                      {c.evidence.map((e) => {
                        const to = evidenceRoute(e);
                        return <li key={e}>{to ? <Link to={to} data-testid="control-evidence">{e}</Link> : <code title="compliance API path (bearer token)">{e}</code>}</li>;
                      })}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Page>
  );
}
