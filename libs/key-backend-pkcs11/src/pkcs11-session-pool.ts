import { KmsError, type HsmKeyOrigin } from '@kms/domain';
import * as pkcs11js from 'pkcs11js';
import { loadHsmPin, type HsmPinSource } from './hsm-pin-source';
import { FATAL_LOGIN_CODES, RECONNECT_CODES, ckrName, ckrOf, describeError, hsmUnavailable } from './pkcs11-errors';

/** Which token to use: by label (default "kms"), or by index among the slots that hold a token. */
export type TokenSelector = { kind: 'label'; label: string } | { kind: 'slot'; index: number };

/** Module and token identity, as recorded in a version's key origin. */
export type HsmModuleIdentity = HsmKeyOrigin['module'];

/** A module or token failure, for the service to audit. Never carries a PIN, handle or key value. */
export interface HsmFailure {
  /** The request that hit it ('encrypt', 'createVersion', ...) or 'connect'. */
  operation: string;
  /** CKR_* name, when the module returned one. */
  returnCode?: string;
  message: string;
  /** True when the pool is reconnecting (or will retry connecting) because of it. */
  reconnecting: boolean;
}

export interface Pkcs11SessionPoolOptions {
  /** Path of the PKCS#11 module (KMS_HSM_MODULE). */
  modulePath: string;
  token: TokenSelector;
  pin: HsmPinSource;
  /** Logged-in sessions kept open (KMS_HSM_SESSIONS). Default 4. */
  sessions?: number;
  /** SoftHSM2 reads its configuration path from SOFTHSM2_CONF at C_Initialize; set it first when given. */
  softhsm2Conf?: string;
  /** Longest wait for a free session, including a (re)connect in progress. Default 5,000 ms. */
  acquireTimeoutMs?: number;
  /** Longest wait for one module call to complete (key generation included). Default 30,000 ms. */
  operationTimeoutMs?: number;
  /** Delay before retrying a failed connect, doubling up to max. Default 100 ms to 10,000 ms. */
  reconnectDelayMs?: { initial: number; max: number };
  onFailure?: (failure: HsmFailure) => void;
}

/** A logged-in session leased for one request. Object handles are valid for one generation only. */
export interface Pkcs11Session {
  readonly module: pkcs11js.PKCS11;
  readonly handle: Buffer;
  /** Bumped on every (re)connect: handles cached under an older generation are stale. */
  readonly generation: number;
  readonly identity: HsmModuleIdentity;
  readonly mechanisms: ReadonlySet<number>;
}

export type Pkcs11PoolState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'unavailable' | 'closed';

export interface Pkcs11PoolStats {
  state: Pkcs11PoolState;
  /** Sessions open in the current generation (free + leased). */
  sessions: number;
  leased: number;
  waiting: number;
  /** Most sessions ever leased at once: above 1 means requests did run in parallel. */
  peakLeased: number;
  generation: number;
  lastError?: string;
}

export const DEFAULT_HSM_SESSIONS = 4;
const DEFAULT_ACQUIRE_TIMEOUT_MS = 5_000;
const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;
const DEFAULT_RECONNECT_DELAY_MS = { initial: 100, max: 10_000 };
const DRAIN_POLL_MS = 10;
const SESSION_FLAGS = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;

interface Connection {
  generation: number;
  slot: Buffer;
  free: Buffer[];
  leased: number;
  broken: boolean;
  identity: HsmModuleIdentity;
  mechanisms: ReadonlySet<number>;
}

interface Lease {
  conn: Connection;
  session: Pkcs11Session;
}

interface Waiter {
  resolve(lease: Lease): void;
  reject(e: KmsError): void;
  timer: NodeJS.Timeout;
}

function text(value: string): string {
  // PKCS#11 strings are fixed-width, blank (sometimes NUL) padded.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\s\u0000]+$/, '');
}

function version(v: pkcs11js.Version): string {
  return `${v.major}.${v.minor}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Owns the PKCS#11 module: loads and initialises it on first use, logs in, and keeps a pool of
 * sessions so concurrent requests run on the module in parallel (pkcs11js's *Async calls run on the
 * libuv thread pool). Every wait is bounded. When the module, token, session or login goes away, the
 * request that saw it fails with BACKEND_UNAVAILABLE and the pool reconnects in the background with
 * backoff; requests that arrive meanwhile wait up to the acquire timeout or fail fast while a retry
 * is scheduled. One pool per module per process: the module's state is process-wide.
 */
export class Pkcs11SessionPool {
  private readonly sessionCount: number;
  private readonly acquireTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  private readonly reconnectDelay: { initial: number; max: number };
  private module?: pkcs11js.PKCS11;
  private conn?: Connection;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private retryDelayMs: number;
  private lastError?: KmsError;
  /** Set after a login refusal that a retry cannot fix (wrong or locked PIN). */
  private fatal = false;
  private closed = false;
  private generation = 0;
  private peakLeased = 0;
  private knownMechanisms?: ReadonlySet<number>;
  /** Whether our C_Initialize did initialise the module (rather than find it initialised by another user in the process). */
  private ownsInitialization = false;
  private readonly waiters: Waiter[] = [];

  /** Does no I/O: the module is loaded on the first request. */
  constructor(private readonly options: Pkcs11SessionPoolOptions) {
    this.sessionCount = options.sessions ?? DEFAULT_HSM_SESSIONS;
    if (!Number.isInteger(this.sessionCount) || this.sessionCount < 1) throw new Error(`sessions must be a positive whole number, got ${this.sessionCount}`);
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
    this.operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    this.reconnectDelay = options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS;
    this.retryDelayMs = this.reconnectDelay.initial;
  }

  /** Mechanisms of the token, once a connection has been made (undefined before). */
  get mechanisms(): ReadonlySet<number> | undefined {
    return this.knownMechanisms;
  }

  /** Connect now (log in, open the sessions) rather than on the first request. Throws BACKEND_UNAVAILABLE. */
  async connect(): Promise<void> {
    await this.withSession('connect', async () => undefined);
  }

  /** Module and token identity. Connects if needed. */
  async identity(): Promise<HsmModuleIdentity> {
    return this.withSession('identity', async (s) => s.identity);
  }

  stats(): Pkcs11PoolStats {
    const conn = this.conn;
    return {
      state: this.state(),
      sessions: conn ? conn.free.length + conn.leased : 0,
      leased: conn?.leased ?? 0,
      waiting: this.waiters.length,
      peakLeased: this.peakLeased,
      generation: this.generation,
      ...(this.lastError ? { lastError: this.lastError.message } : {}),
    };
  }

  /**
   * Run `fn` on a leased session, bounded by the operation timeout. KmsErrors from `fn` pass through;
   * a module error becomes BACKEND_UNAVAILABLE, and a reconnect when it means the connection is gone.
   * `fn` handles the return codes that are answers (a bad signature, a failed tag check) itself.
   */
  withSession<T>(operation: string, fn: (session: Pkcs11Session) => Promise<T>): Promise<T> {
    // Fast path without a promise hop when a session is free: this runs once per request.
    const free = this.tryLease();
    return free ? this.run(operation, free, fn) : this.acquire().then((lease) => this.run(operation, lease, fn));
  }

  /** Log out, close every session and finalize the module. Later requests fail with BACKEND_UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.rejectWaiters(hsmUnavailable('the HSM connection is closed'));
    await this.connecting;
    const conn = this.conn;
    this.conn = undefined;
    const drained = conn ? await this.drain(conn) : true;
    const module = this.module;
    this.module = undefined;
    if (!module || !drained) return;
    if (this.ownsInitialization) {
      try {
        module.C_Finalize();
      } catch {
        // Already finalized (e.g. the module failed): nothing left to release.
      }
    } else {
      // Someone else in the process initialised the module: leave it to them, close only our sessions.
      for (const session of conn?.free ?? []) {
        try {
          module.C_CloseSession(session);
        } catch {
          // Gone already.
        }
      }
    }
    module.close();
  }

  private run<T>(operation: string, lease: Lease, fn: (session: Pkcs11Session) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        // The native call still owns the session: it is given back only when the call returns.
        timedOut = true;
        const problem = `${operation} did not complete within ${this.operationTimeoutMs} ms`;
        this.report({ operation, message: problem, reconnecting: false });
        reject(hsmUnavailable(problem));
      }, this.operationTimeoutMs);
      let pending: Promise<T>;
      try {
        pending = fn(lease.session);
      } catch (e) {
        pending = Promise.reject(e);
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          this.release(lease, timedOut);
          resolve(value);
        },
        (e: unknown) => {
          clearTimeout(timer);
          if (timedOut) {
            this.release(lease, true);
            return;
          }
          const { error, tainted } = this.classify(operation, e, lease);
          this.release(lease, tainted);
          reject(error);
        },
      );
    });
  }

  private tryLease(): Lease | undefined {
    const conn = this.conn;
    if (this.closed || !conn) return undefined;
    const handle = conn.free.pop();
    return handle ? this.lease(conn, handle) : undefined;
  }

  private state(): Pkcs11PoolState {
    if (this.closed) return 'closed';
    if (this.conn) return 'ready';
    if (this.connecting) return this.generation === 0 ? 'connecting' : 'reconnecting';
    if (this.lastError) return 'unavailable';
    return 'idle';
  }

  private acquire(): Promise<Lease> {
    // Called when no session is free (withSession tried that first): wait for one, or for a connection.
    if (this.closed) return Promise.reject(hsmUnavailable('the HSM connection is closed'));
    if (!this.conn) {
      // Fail fast while a retry is scheduled: the module was just found unreachable.
      if (this.lastError && (this.fatal || this.retryTimer)) return Promise.reject(this.lastError);
      this.startConnect();
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          const reason = this.conn ? `no HSM session became free within ${this.acquireTimeoutMs} ms` : `not connected within ${this.acquireTimeoutMs} ms`;
          reject(hsmUnavailable(reason));
        }, this.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private lease(conn: Connection, handle: Buffer): Lease {
    conn.leased += 1;
    this.peakLeased = Math.max(this.peakLeased, conn.leased);
    const module = this.module;
    if (!module) throw new Error('leased a session without a module');
    return { conn, session: { module, handle, generation: conn.generation, identity: conn.identity, mechanisms: conn.mechanisms } };
  }

  private release(lease: Lease, tainted: boolean): void {
    const { conn, session } = lease;
    conn.leased -= 1;
    // Sessions of a broken or replaced connection are dropped; the reconnect waits for them to drain.
    if (conn !== this.conn || conn.broken) return;
    if (!tainted) {
      conn.free.push(session.handle);
    } else {
      // An operation that failed midway may still be active on the session: replace it.
      try {
        session.module.C_CloseSession(session.handle);
      } catch {
        // Closing is best effort; the replacement below is what matters.
      }
      try {
        conn.free.push(session.module.C_OpenSession(conn.slot, SESSION_FLAGS));
      } catch (e) {
        this.fail('open session', e, conn);
        return;
      }
    }
    this.dispatch();
  }

  private dispatch(): void {
    const conn = this.conn;
    while (conn && this.waiters.length > 0) {
      const handle = conn.free.pop();
      if (!handle) return;
      const waiter = this.waiters.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.resolve(this.lease(conn, handle));
    }
  }

  private rejectWaiters(error: KmsError): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  private classify(operation: string, e: unknown, lease: Lease): { error: unknown; tainted: boolean } {
    if (e instanceof KmsError) return { error: e, tainted: false };
    const code = ckrOf(e);
    if (code !== undefined && RECONNECT_CODES.has(code)) {
      this.fail(operation, e, lease.conn);
      return { error: hsmUnavailable(`${operation} failed (${ckrName(code)}); reconnecting`), tainted: true };
    }
    // The operation may still be active on the session after an unexpected error: the session is replaced.
    const problem = describeError(e);
    this.report({ operation, ...(code !== undefined ? { returnCode: ckrName(code) } : {}), message: `${operation} failed: ${problem}`, reconnecting: false });
    const error = hsmUnavailable(`${operation} failed (${problem})`);
    error.cause = e;
    return { error, tainted: true };
  }

  /** The connection is gone: drop it, report, and reconnect (once per connection). */
  private fail(operation: string, e: unknown, conn: Connection): void {
    if (conn.broken) return;
    conn.broken = true;
    if (this.conn === conn) this.conn = undefined;
    const code = ckrOf(e);
    this.report({
      operation,
      ...(code !== undefined ? { returnCode: ckrName(code) } : {}),
      message: `${operation} failed: ${describeError(e)}`,
      reconnecting: !this.closed,
    });
    if (!this.closed) this.startConnect(conn);
  }

  private report(failure: HsmFailure): void {
    try {
      this.options.onFailure?.(failure);
    } catch {
      // An auditing hook that throws must not turn a module failure into a crash.
    }
  }

  private startConnect(previous?: Connection): void {
    if (this.connecting || this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.connecting = (async () => {
      try {
        const drained = previous ? await this.drain(previous) : true;
        const conn = await this.open(previous !== undefined && drained);
        if (this.closed) return;
        this.conn = conn;
        this.lastError = undefined;
        this.retryDelayMs = this.reconnectDelay.initial;
        this.dispatch();
      } catch (e) {
        const error = e instanceof KmsError ? e : hsmUnavailable(describeError(e));
        this.lastError = error;
        const code = ckrOf(error.cause);
        this.fatal = code !== undefined && FATAL_LOGIN_CODES.has(code);
        this.report({ operation: 'connect', ...(code !== undefined ? { returnCode: ckrName(code) } : {}), message: error.message, reconnecting: !this.fatal });
        this.rejectWaiters(error);
        if (!this.fatal) this.scheduleRetry();
      } finally {
        this.connecting = undefined;
      }
    })();
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.reconnectDelay.max);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.startConnect();
    }, delay);
    // A retry loop must not keep an otherwise finished process alive.
    this.retryTimer.unref();
  }

  /** Wait (bounded) until no call runs on the connection's sessions, so finalizing cannot pull the module from under one. */
  private async drain(conn: Connection): Promise<boolean> {
    const deadline = Date.now() + this.operationTimeoutMs;
    while (conn.leased > 0) {
      if (Date.now() >= deadline) return false;
      await sleep(DRAIN_POLL_MS);
    }
    return true;
  }

  private loadModule(): pkcs11js.PKCS11 {
    if (this.module) return this.module;
    const module = new pkcs11js.PKCS11();
    try {
      module.load(this.options.modulePath);
    } catch (e) {
      throw hsmUnavailable(`cannot load the PKCS#11 module ${this.options.modulePath} (${describeError(e)})`);
    }
    this.module = module;
    return module;
  }

  private async open(reinitialize: boolean): Promise<Connection> {
    const module = this.loadModule();
    if (this.options.softhsm2Conf) process.env['SOFTHSM2_CONF'] = this.options.softhsm2Conf;
    if (reinitialize && this.ownsInitialization) {
      try {
        module.C_Finalize();
      } catch {
        // Already finalized (that may be the very failure being recovered from).
      }
    }
    const step = <T>(what: string, call: () => T): T => {
      try {
        return call();
      } catch (e) {
        if (e instanceof KmsError) throw e;
        const error = hsmUnavailable(`${what} failed (${describeError(e)})`);
        error.cause = e;
        throw error;
      }
    };
    try {
      // Without CKF_OS_LOCKING_OK a module may assume one thread; the *Async calls run on several.
      module.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
      this.ownsInitialization = true;
    } catch (e) {
      this.ownsInitialization = false;
      if (ckrOf(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        const error = hsmUnavailable(`C_Initialize failed (${describeError(e)})`);
        error.cause = e;
        throw error;
      }
    }
    const slot = step('finding the token', () => this.findSlot(module));
    const info = step('C_GetInfo', () => module.C_GetInfo());
    const token = step('C_GetTokenInfo', () => module.C_GetTokenInfo(slot));
    if ((token.flags & pkcs11js.CKF_USER_PIN_INITIALIZED) === 0) throw hsmUnavailable(`token "${text(token.label)}" has no user PIN set`);
    let pin: string;
    try {
      pin = await loadHsmPin(this.options.pin);
    } catch (e) {
      throw hsmUnavailable(describeError(e));
    }
    const sessions: Buffer[] = [];
    try {
      for (let i = 0; i < this.sessionCount; i += 1) sessions.push(step('C_OpenSession', () => module.C_OpenSession(slot, SESSION_FLAGS)));
      // Login state is per token and application: one C_Login covers every session.
      try {
        module.C_Login(sessions[0], pkcs11js.CKU_USER, pin);
      } catch (e) {
        if (ckrOf(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
          const error = hsmUnavailable(`login to token "${text(token.label)}" refused (${describeError(e)})`);
          error.cause = e;
          throw error;
        }
      }
      const mechanisms = new Set(step('C_GetMechanismList', () => module.C_GetMechanismList(slot)));
      this.knownMechanisms = mechanisms;
      this.generation += 1;
      return {
        generation: this.generation,
        slot,
        free: sessions,
        leased: 0,
        broken: false,
        mechanisms,
        identity: {
          manufacturer: text(token.manufacturerID),
          model: text(token.model),
          serialNumber: text(token.serialNumber),
          firmwareVersion: version(token.firmwareVersion),
          hardwareVersion: version(token.hardwareVersion),
          tokenLabel: text(token.label),
          libraryDescription: text(info.libraryDescription),
        },
      };
    } catch (e) {
      for (const session of sessions) {
        try {
          module.C_CloseSession(session);
        } catch {
          // Best effort: the connect failed anyway.
        }
      }
      throw e;
    }
  }

  private findSlot(module: pkcs11js.PKCS11): Buffer {
    const slots = module.C_GetSlotList(true);
    const token = this.options.token;
    if (token.kind === 'slot') {
      const slot = slots[token.index];
      if (!slot) throw hsmUnavailable(`KMS_HSM_SLOT=${token.index}, but ${this.options.modulePath} has ${slots.length} slot(s) with a token`);
      return slot;
    }
    const matching = slots.filter((slot) => {
      const info = module.C_GetTokenInfo(slot);
      return (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0 && text(info.label) === token.label;
    });
    if (matching.length === 0) throw hsmUnavailable(`no initialised token labelled "${token.label}" in ${this.options.modulePath}`);
    if (matching.length > 1) throw hsmUnavailable(`${matching.length} tokens are labelled "${token.label}"; choose one with KMS_HSM_SLOT`);
    return matching[0];
  }
}
