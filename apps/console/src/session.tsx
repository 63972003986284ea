// The signed-in person: restored from the HttpOnly session cookie with GET /v1/console/api/session
// (nothing is kept in browser storage; the CSRF token lives in memory only).
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { ApiError, call, type ConsoleSession, onSessionLost, setCsrfToken } from './api';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-in'; session: ConsoleSession }
  /** `ended`: why a session this page held is gone (expired, PERSON_SUSPENDED), when the server said so. */
  | { status: 'signed-out'; ended?: ApiError }
  | { status: 'error'; error: unknown };

interface SessionContextValue {
  state: SessionState;
  signedIn(session: ConsoleSession): void;
  signOut(): Promise<void>;
  refresh(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const refresh = useCallback(async () => {
    try {
      const session = await call<ConsoleSession>('GET', '/v1/console/api/session');
      setCsrfToken(session.csrf_token);
      setState({ status: 'signed-in', session });
    } catch (e) {
      setCsrfToken(undefined);
      if (e instanceof ApiError && e.status === 401) setState(e.reason === 'PERSON_SUSPENDED' ? { status: 'signed-out', ended: e } : { status: 'signed-out' });
      else setState({ status: 'error', error: e });
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  // Any console API call answered 401 ends the session here too: the page asks to sign in again.
  useEffect(() => {
    onSessionLost((why) => {
      setCsrfToken(undefined);
      setState((s) => (s.status === 'signed-in' ? { status: 'signed-out', ended: why } : s));
    });
    return () => onSessionLost(undefined);
  }, []);
  const signedIn = useCallback((session: ConsoleSession) => {
    setCsrfToken(session.csrf_token);
    setState({ status: 'signed-in', session });
  }, []);
  const signOut = useCallback(async () => {
    try {
      await call('POST', '/v1/console/api/sign-out');
    } finally {
      setCsrfToken(undefined);
      setState({ status: 'signed-out' });
    }
  }, []);
  return <SessionContext.Provider value={{ state, signedIn, signOut, refresh }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
