// The console's shell: routes under /console/, the navigation, and the session gate of the pages
// that need a signed-in person.
import type { ReactNode } from 'react';
import { when } from './format';
import { ApprovalsPage } from './pages/approvals.page';
import { AuditPage } from './pages/audit.page';
import { ControlsPage } from './pages/controls.page';
import { EscrowPage } from './pages/escrow.page';
import { DevicePage } from './pages/device.page';
import { EnrolPage } from './pages/enrol.page';
import { KeyDetailPage } from './pages/key-detail.page';
import { KeysPage } from './pages/keys.page';
import { SignInPage } from './pages/sign-in.page';
import { Link, navigate, useLocation } from './router';
import { useSession } from './session';
import { ErrorBox, Page } from './ui';

function Nav() {
  const { state, signOut } = useSession();
  return (
    <header className="nav">
      <strong>KMS console</strong>
      {state.status === 'signed-in' ? (
        <>
          <nav>
            <Link to="/approvals" data-testid="nav-approvals">
              Approvals
            </Link>
            <Link to="/keys" data-testid="nav-keys">
              Keys
            </Link>
            <Link to="/controls" data-testid="nav-controls">
              Controls
            </Link>
            <Link to="/escrow" data-testid="nav-escrow">
              Escrow
            </Link>
            <Link to="/audit" data-testid="nav-audit">
              Audit
            </Link>
            <Link to="/device" data-testid="nav-device">
              CLI sign-in
            </Link>
          </nav>
          <span className="who" data-testid="session-person" title={`session until ${when(state.session.expires_at)}`}>
            {state.session.name} ({state.session.roles.join(', ') || 'no roles'})
          </span>
          <button type="button" data-testid="sign-out" onClick={() => void signOut().finally(() => navigate('/'))}>
            Sign out
          </button>
        </>
      ) : null}
    </header>
  );
}

/** Pages that need a session: sign-in first (coming back here after), or say why there is none. */
function SignedIn({ path, children }: { path: string; children: ReactNode }) {
  const { state } = useSession();
  switch (state.status) {
    case 'loading':
      return <p>Loading…</p>;
    case 'signed-in':
      return <>{children}</>;
    case 'signed-out':
      return <SignInPage next={path} />;
    case 'error':
      return (
        <Page title="Console" testId="session-failed">
          <ErrorBox error={state.error} testId="session-error" />
        </Page>
      );
    default: {
      const never: never = state;
      return never;
    }
  }
}

function Routes() {
  const { path, query } = useLocation();
  const { state } = useSession();
  const here = `${path}${query.toString() ? `?${query}` : ''}`;
  if (path === '/') {
    // Until the session is known: a signed-in person does not see the sign-in form flash by.
    if (state.status === 'loading') return <p>Loading…</p>;
    if (state.status === 'signed-in') {
      return (
        <Page title="Signed in" testId="home-page">
          <p>
            Signed in as <span data-testid="home-person">{state.session.name}</span> until {when(state.session.expires_at)}.
          </p>
        </Page>
      );
    }
    return <SignInPage next={query.get('next') ?? '/approvals'} />;
  }
  if (path === '/enrol') return <EnrolPage token={query.get('token') ?? ''} />;
  const key = /^\/keys\/([^/]+)$/.exec(path);
  const page = path === '/approvals' ? (
    <ApprovalsPage />
  ) : path === '/keys' ? (
    <KeysPage key={here} query={query} />
  ) : key ? (
    <KeyDetailPage keyId={decodeURIComponent(key[1])} />
  ) : path === '/controls' ? (
    <ControlsPage />
  ) : path === '/escrow' ? (
    <EscrowPage />
  ) : path === '/audit' ? (
    <AuditPage key={here} query={query} />
  ) : path === '/device' ? (
    <DevicePage key={here} code={query.get('code') ?? ''} />
  ) : undefined;
  if (!page) {
    return (
      <Page title="Not found" testId="not-found-page">
        <ErrorBox error={{ message: `no console page ${path}` }} />
        <Link to="/">Sign in</Link>
      </Page>
    );
  }
  return <SignedIn path={here}>{page}</SignedIn>;
}

export function App() {
  return (
    <>
      <Nav />
      <main>
        <Routes />
      </main>
    </>
  );
}

