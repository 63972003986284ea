// The pending approvals queue: approve with a step-up security-key assertion bound to the request
// (the server stores it with the approval), or reject with a reason. Never one's own request.
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { useState } from 'react';
import { call } from '../api';
import { age, when } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import { ErrorBox, Page } from '../ui';
import { useLoad } from './use-load';

export interface ApprovalItem {
  approval_id: string;
  operation: string;
  target_id: string;
  target_name?: string;
  requester_id: string;
  requester_name: string;
  change_ticket: string;
  requested_at: string;
  expires_at: string;
  /** As the gRPC ApprovalService names it: PENDING, EXECUTED, EXECUTION_FAILED, REJECTED, EXPIRED, … */
  status: string;
  own: boolean;
  /** The identity id of the person who approved or rejected it. */
  decided_by?: string;
  decided_at?: string;
  /** Why an approved change failed to run (EXECUTION_FAILED). */
  error_code?: string;
  /** Only in the answer of an approved enrolment link: shown once, to hand to the person. */
  issued_enrolment_link?: { identity_id: string; enrolment_url: string; expire_time: string };
}

export function ApprovalsPage() {
  const { state } = useSession();
  const me = state.status === 'signed-in' ? state.session : undefined;
  const list = useLoad(() => call<{ items: ApprovalItem[] }>('GET', '/v1/console/api/approvals'), []);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const [link, setLink] = useState<ApprovalItem['issued_enrolment_link']>();
  const [busy, setBusy] = useState<string>();
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const now = new Date();

  const approve = async (a: ApprovalItem) => {
    setBusy(a.approval_id);
    setError(undefined);
    setDone(undefined);
    setLink(undefined);
    try {
      const o = await call<{ ceremony_id: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', `/v1/console/api/approvals/${encodeURIComponent(a.approval_id)}/step-up`);
      const response = await startAuthentication({ optionsJSON: o.options });
      const r = await call<ApprovalItem>('POST', `/v1/console/api/approvals/${encodeURIComponent(a.approval_id)}/approve`, { ceremony_id: o.ceremony_id, response });
      setDone(`Approved ${r.operation} on ${r.target_name ?? r.target_id} (${r.change_ticket}): ${r.status}`);
      setLink(r.issued_enrolment_link);
      list.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  const reject = async (a: ApprovalItem) => {
    setBusy(a.approval_id);
    setError(undefined);
    setDone(undefined);
    try {
      const r = await call<ApprovalItem>('POST', `/v1/console/api/approvals/${encodeURIComponent(a.approval_id)}/reject`, { reason: (reasons[a.approval_id] ?? '').trim() });
      setDone(`Rejected ${r.operation} on ${r.target_name ?? r.target_id} (${r.change_ticket}): ${r.status}`);
      list.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  const items = list.data?.items ?? [];
  return (
    <Page title="Approvals" testId="approvals-page">
      <ErrorBox error={list.error} testId="approvals-load-error" />
      <ErrorBox error={error} testId="approval-error" />
      {done ? (
        <p className="ok" data-testid="approval-done">
          {done}
        </p>
      ) : null}
      {link ? (
        <p className="ok" data-testid="approval-enrolment-link">
          Enrolment link for {link.identity_id}, valid until {when(link.expire_time)} — shown once; give it to that person only:{' '}
          <code>{link.enrolment_url}</code>
        </p>
      ) : null}
      {list.loading && !list.data ? <p>Loading…</p> : null}
      {list.data && items.length === 0 ? <p data-testid="approvals-empty">No approval requests.</p> : null}
      {items.length > 0 ? (
        <table data-testid="approvals-table">
          <thead>
            <tr>
              <th>Operation</th>
              <th>Target</th>
              <th>Requester</th>
              <th>Change ticket</th>
              <th>Age</th>
              <th>Status</th>
              <th>Decided by</th>
              <th>Decision</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.approval_id} data-testid={`approval-row-${a.approval_id}`} data-status={a.status} data-own={a.own ? 'true' : 'false'}>
                <td data-testid="approval-operation">{a.operation}</td>
                <td data-testid="approval-target">{a.target_name ? `${a.target_name} (${a.target_id})` : a.target_id}</td>
                <td data-testid="approval-requester">{a.requester_name || a.requester_id}</td>
                <td data-testid="approval-ticket">{a.change_ticket}</td>
                <td title={when(a.requested_at)}>{age(a.requested_at, now)}</td>
                <td data-testid="approval-status">
                  {a.status}
                  {a.error_code ? <code data-testid="approval-failure-code"> {a.error_code}</code> : null}
                </td>
                <td>
                  {a.decided_by ? (
                    <span data-testid="approval-decided-by" title={a.decided_at ? when(a.decided_at) : undefined}>
                      {a.decided_by === me?.identity_id ? `${me.name} (you)` : a.decided_by}
                    </span>
                  ) : null}
                </td>
                <td>
                  {a.status !== 'PENDING' ? null : a.own ? (
                    <span className="muted" data-testid={`approval-own-${a.approval_id}`}>
                      Your request: another person must approve it
                    </span>
                  ) : (
                    <>
                      <button type="button" data-testid={`approve-${a.approval_id}`} disabled={busy !== undefined} onClick={() => void approve(a)}>
                        Approve with security key
                      </button>
                      <input
                        aria-label="Reason for rejecting"
                        placeholder="reason"
                        data-testid={`reject-reason-${a.approval_id}`}
                        value={reasons[a.approval_id] ?? ''}
                        onChange={(e) => setReasons({ ...reasons, [a.approval_id]: e.target.value })}
                      />
                      <button type="button" data-testid={`reject-${a.approval_id}`} disabled={busy !== undefined || !(reasons[a.approval_id] ?? '').trim()} title="a reason is required" onClick={() => void reject(a)}>
                        Reject
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <p className="muted">
        Every decision is audited; the approval carries your security key's signature over this request. <Link to="/audit?operation=ApproveRequest">Audit trail</Link>
      </p>
    </Page>
  );
}
