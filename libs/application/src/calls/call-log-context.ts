import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while serving a call says about it. */
export interface CallLogContext {
  requestId: string;
  rpc: string;
  /** The caller once authenticated ("unauthenticated" before). */
  actor: string;
}

const storage = new AsyncLocalStorage<CallLogContext>();

/** Run `fn` with `context` as the call every log line under it belongs to. */
export function withCallLogContext<T>(context: CallLogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The call being served, for log lines (undefined outside a call). */
export function currentCallLogContext(): CallLogContext | undefined {
  return storage.getStore();
}
