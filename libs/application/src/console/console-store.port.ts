/** A console session: only the SHA-256 of its id is stored; the person's token is sealed under a key derived from the id. */
export interface ConsoleSessionRecord {
  sessionHash: Buffer;
  identityId: string;
  /** The WebAuthn credential the person signed in with (the token's `cid`). */
  credentialId: string;
  /** AES-256-GCM(iv ‖ ciphertext ‖ tag) of the person's token; the key is derived from the session id, which only the cookie holds. */
  sealedToken: Buffer;
  createdAt: Date;
  expiresAt: Date;
}

export type DeviceAuthorizationStatus = 'pending' | 'approved' | 'denied' | 'issued';

/** A `kms login` device authorization (RFC 8628): only the SHA-256 of the device code is stored. */
export interface DeviceAuthorizationRecord {
  deviceCodeHash: Buffer;
  /** `XXXX-XXXX`, from an alphabet without look-alike characters. */
  userCode: string;
  clientName: string;
  requestedAt: Date;
  expiresAt: Date;
  status: DeviceAuthorizationStatus;
  /** Seconds the client must wait between polls (raised by 5 on each `slow_down`). */
  intervalSeconds: number;
  lastPolledAt?: Date;
  /** The person who approved or denied, and the security key of their session. */
  decidedBy?: string;
  credentialId?: string;
  decidedAt?: Date;
}

/**
 * Console sessions and device authorizations (PostgreSQL in deployments, so every replica agrees).
 * Each consumption or decision is one conditional statement: of two racing calls one wins.
 */
export interface ConsoleStore {
  /** Store a session (and drop expired ones). */
  putSession(session: ConsoleSessionRecord, now: Date): Promise<void>;
  /** The session with this hash, when it is still valid at `now`. */
  getSession(sessionHash: Buffer, now: Date): Promise<ConsoleSessionRecord | undefined>;
  deleteSession(sessionHash: Buffer): Promise<boolean>;

  /** Store a new device authorization (and drop expired ones). False when the user code is taken. */
  putDeviceAuthorization(device: DeviceAuthorizationRecord, now: Date): Promise<boolean>;
  getDeviceByCode(deviceCodeHash: Buffer): Promise<DeviceAuthorizationRecord | undefined>;
  getDeviceByUserCode(userCode: string): Promise<DeviceAuthorizationRecord | undefined>;
  /** Note a poll at `now`; when `slowDown`, also raise the interval by 5 s. */
  notePoll(deviceCodeHash: Buffer, now: Date, slowDown: boolean): Promise<void>;
  /** Approve or deny a pending, unexpired authorization; false when it was decided meanwhile or expired. */
  decideDevice(userCode: string, decision: 'approved' | 'denied', by: { identityId: string; credentialId: string }, now: Date): Promise<boolean>;
  /** Mark an approved authorization issued (its token is handed out once); false when another poll won. */
  issueDevice(deviceCodeHash: Buffer, now: Date): Promise<boolean>;
}
