// Load something on mount (and when `deps` change), with its error and a reload; an answer that
// arrives after the page moved on is dropped.
import { type DependencyList, useEffect, useState } from 'react';

export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): { data?: T; error?: unknown; loading: boolean; reload(): void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
    // `load` is a new closure each render; what it depends on is in `deps`.
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
