// Enrolment with a one-time link: register a security key (WebAuthn), then an authenticator app
// (QR code and secret shown once), confirmed with its first code.
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { type FormEvent, useState } from 'react';
import { call } from '../api';
import { Link } from '../router';
import { ErrorBox, Field, Page } from '../ui';

type Step = { step: 'security-key' } | { step: 'authenticator-app'; session: string; qr: string; secret: string; uri: string } | { step: 'done'; identityId: string };

export function EnrolPage({ token }: { token: string }) {
  const [state, setState] = useState<Step>({ step: 'security-key' });
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const registerKey = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const o = await call<{ ceremony_id: string; options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/v1/console/enrolment/security-key/options', { enrolment_token: token });
      const response = await startRegistration({ optionsJSON: o.options });
      const r = await call<{ enrolment_session: string }>('POST', '/v1/console/enrolment/security-key', { enrolment_token: token, ceremony_id: o.ceremony_id, response });
      const app = await call<{ otpauth_uri: string; qr_code: string; secret: string }>('POST', '/v1/console/enrolment/authenticator-app', { enrolment_session: r.enrolment_session });
      setState({ step: 'authenticator-app', session: r.enrolment_session, qr: app.qr_code, secret: app.secret, uri: app.otpauth_uri });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    if (state.step !== 'authenticator-app') return;
    setBusy(true);
    setError(undefined);
    try {
      const r = await call<{ identity_id: string }>('POST', '/v1/console/enrolment/authenticator-app/confirm', { enrolment_session: state.session, totp_code: code.trim() });
      setState({ step: 'done', identityId: r.identity_id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!token) {
    return (
      <Page title="Enrol" testId="enrol-page">
        <ErrorBox error={new Error('this page needs the enrolment link a security engineer gave you (…/console/enrol?token=…)')} testId="enrol-error" />
      </Page>
    );
  }
  return (
    <Page title="Enrol your second factors" testId="enrol-page">
      <ErrorBox error={error} testId="enrol-error" />
      {state.step === 'security-key' ? (
        <div>
          <p>Step 1 of 2: register your security key. Your browser will ask you to touch it and verify (PIN or biometrics).</p>
          <button type="button" data-testid="enrol-security-key" disabled={busy} onClick={() => void registerKey()}>
            Register my security key
          </button>
        </div>
      ) : state.step === 'authenticator-app' ? (
        <form onSubmit={(e) => void confirm(e)}>
          <p>Step 2 of 2: scan this code with your authenticator app (or type the secret), then enter the first code it shows. They are shown only once.</p>
          <img src={state.qr} alt="QR code of the authenticator app secret" data-testid="enrol-qr" width={200} height={200} />
          <p>
            Secret: <code data-testid="enrol-secret">{state.secret}</code>
          </p>
          <Field label="First code" testId="enrol-code" value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" required />
          <button type="submit" data-testid="enrol-confirm" disabled={busy || code.trim() === ''}>
            Confirm
          </button>
        </form>
      ) : (
        <div data-testid="enrol-done">
          <p>
            Done: your security key and authenticator app are enrolled (identity <code data-testid="enrol-identity">{state.identityId}</code>).
          </p>
          <Link to="/" data-testid="enrol-go-sign-in">
            Sign in
          </Link>
        </div>
      )}
    </Page>
  );
}
