// Approving a `kms login` (device authorization, RFC 8628 shape): the person checks the code the
// CLI printed and approves or denies it; the CLI then receives a token of this person.
import { type FormEvent, useState } from 'react';
import { call } from '../api';
import { when } from '../format';
import { navigate } from '../router';
import { ErrorBox, Field, Page } from '../ui';
import { useLoad } from './use-load';

interface DeviceRequest {
  user_code: string;
  client_name: string | null;
  requested_at: string;
  expires_at: string;
  /** `approved` also once the command line has received its token. */
  status: 'pending' | 'approved' | 'denied';
}

export function DevicePage({ code }: { code: string }) {
  const [typed, setTyped] = useState(code);
  const [outcome, setOutcome] = useState<'approved' | 'denied'>();
  const [error, setError] = useState<unknown>();
  const request = useLoad(
    () => (code ? call<DeviceRequest>('GET', `/v1/console/api/device/${encodeURIComponent(code)}`) : Promise.resolve(undefined)),
    [code],
  );

  const lookUp = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/device?code=${encodeURIComponent(typed.trim().toUpperCase())}`);
  };
  const decide = async (decision: 'approve' | 'deny') => {
    setError(undefined);
    try {
      await call('POST', `/v1/console/api/device/${encodeURIComponent(code)}/${decision}`);
      setOutcome(decision === 'approve' ? 'approved' : 'denied');
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Page title="Approve a command-line sign-in" testId="device-page">
      <form className="filters" onSubmit={lookUp}>
        <Field label="Code shown by kms login" testId="device-code" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="ABCD-EFGH" />
        <button type="submit" data-testid="device-look-up">
          Look up
        </button>
      </form>
      <ErrorBox error={request.error} testId="device-load-error" />
      <ErrorBox error={error} testId="device-error" />
      {outcome ? (
        <p className="ok" data-testid="device-outcome">
          {outcome === 'approved' ? 'Approved: the command line now receives a token of yours (at most 15 minutes).' : 'Denied: the command line gets no token.'}
        </p>
      ) : request.data ? (
        <div data-testid="device-request">
          <dl className="facts">
            <dt>Code</dt>
            <dd data-testid="device-user-code">{request.data.user_code}</dd>
            <dt>Client</dt>
            <dd data-testid="device-client">{request.data.client_name ?? '—'}</dd>
            <dt>Status</dt>
            <dd data-testid="device-status">{request.data.status}</dd>
            <dt>Requested</dt>
            <dd>{when(request.data.requested_at)}</dd>
            <dt>Expires</dt>
            <dd>{when(request.data.expires_at)}</dd>
          </dl>
          {request.data.status === 'pending' ? (
            <>
              <p>Approve only if you just ran `kms login` and it shows this code.</p>
              <button type="button" data-testid="device-approve" onClick={() => void decide('approve')}>
                Approve
              </button>
              <button type="button" data-testid="device-deny" onClick={() => void decide('deny')}>
                Deny
              </button>
            </>
          ) : (
            <p className="muted" data-testid="device-decided">
              This code was already {request.data.status}; run <code>kms login</code> again for a new one.
            </p>
          )}
        </div>
      ) : null}
    </Page>
  );
}
