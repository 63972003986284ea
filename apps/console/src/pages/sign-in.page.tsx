// Sign-in: the person's name (or identity id), then their security key (WebAuthn assertion), then a
// code from their authenticator app. The server verifies both before it opens a session.
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON, type AuthenticationResponseJSON } from '@simplewebauthn/browser';
import { type FormEvent, useState } from 'react';
import { call, type ConsoleSession } from '../api';
import { signInSubject } from '../format';
import { navigate } from '../router';
import { useSession } from '../session';
import { ErrorBox, Field, Page } from '../ui';

interface Options {
  ceremony_id: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

export function SignInPage({ next }: { next: string }) {
  const { state, signedIn } = useSession();
  const [subject, setSubject] = useState('');
  const [ceremony, setCeremony] = useState<{ id: string; response: AuthenticationResponseJSON }>();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const askSecurityKey = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const o = await call<Options>('POST', '/v1/console/sign-in/options', signInSubject(subject));
      const response = await startAuthentication({ optionsJSON: o.options });
      setCeremony({ id: o.ceremony_id, response });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const submitCode = async (e: FormEvent) => {
    e.preventDefault();
    if (!ceremony) return;
    setBusy(true);
    setError(undefined);
    try {
      // A session: the cookie is HttpOnly, the answer carries no token, only the CSRF token (kept in memory).
      const r = await call<ConsoleSession>('POST', '/v1/console/sign-in', { ceremony_id: ceremony.id, response: ceremony.response, totp_code: code.trim(), session: true });
      signedIn(r);
      navigate(next, true);
    } catch (err) {
      setError(err);
      // A challenge is single use: a refused sign-in starts again from the security key.
      setCeremony(undefined);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Sign in" testId="signin-page">
      {state.status === 'signed-out' && state.ended && !error ? <ErrorBox error={state.ended} testId="session-ended" /> : null}
      <ErrorBox error={error} testId="signin-error" />
      {!ceremony ? (
        <form onSubmit={(e) => void askSecurityKey(e)}>
          <Field label="Name or identity id" testId="signin-identity" value={subject} onChange={(e) => setSubject(e.target.value)} autoComplete="username webauthn" required />
          <button type="submit" data-testid="signin-security-key" disabled={busy || subject.trim() === ''}>
            Use my security key
          </button>
        </form>
      ) : (
        <form onSubmit={(e) => void submitCode(e)}>
          <p data-testid="signin-key-ok">Security key accepted by the browser. Now the code from your authenticator app.</p>
          <Field label="Authenticator code" testId="signin-code" value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" pattern="[0-9]{6,8}" autoComplete="one-time-code" required />
          <button type="submit" data-testid="signin-submit" disabled={busy || code.trim() === ''}>
            Sign in
          </button>
        </form>
      )}
    </Page>
  );
}
