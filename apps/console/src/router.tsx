// A minimal history router: the console has a handful of pages under /console/, so a library would
// add more than it saves (react-router is not a dependency of this repository).
import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useState } from 'react';

export const BASE = '/console';

/** Go to a console page (`/keys`, `/approvals?x=1`) without reloading. */
export function navigate(to: string, replace = false): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current page path below /console (`/`, `/keys/…`) and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const read = () => ({ path: window.location.pathname.slice(BASE.length).replace(/\/+$/, '') || '/', search: window.location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const onPop = () => setLoc(read());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return { path: loc.path, query: new URLSearchParams(loc.search) };
}

/** A link to a console page that navigates in place (and still opens in a new tab on ctrl/middle click). */
export function Link({ to, children, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const href = to.startsWith(BASE) ? to : `${BASE}${to}`;
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
