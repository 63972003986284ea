/** Stream id prefixes of the aggregates. One place, so readers and writers agree. */
export const KEY_STREAM_PREFIX = 'key-';
export const IDENTITY_STREAM_PREFIX = 'identity-';
export const APPROVAL_STREAM_PREFIX = 'approval-';
export const KEY_NAME_STREAM_PREFIX = 'keyname-';
export const IDENTITY_NAME_STREAM_PREFIX = 'identityname-';
/**
 * Records that the bootstrap administrator used its one exception (registering a person alone).
 * One stream, written with expected version "no stream": a second use fails on every replica.
 */
export const BOOTSTRAP_EXCEPTION_STREAM_ID = 'bootstrap-exception';

/** The id in a stream id with the given prefix, or undefined when the stream is of another kind. */
export function idOfStream(prefix: string, streamId: string): string | undefined {
  return streamId.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
}
/** A person's second factors (enrolment links, WebAuthn credentials, TOTP): `person-factors-<identityId>`. */
export const PERSON_FACTORS_STREAM_PREFIX = 'person-factors-';
