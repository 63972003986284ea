/** What the console's HTTP layer needs from configuration (docs/console.md). */
export interface ConsoleSettings {
  /** Base URL of the compliance API the console's reads pass through to (KMS_CONSOLE_COMPLIANCE_URL). */
  complianceUrl: string;
  /** Set the session cookie's Secure attribute (every console origin is https). */
  secureCookies: boolean;
  /** The console's origin, for the device flow's verification URI (the first of KMS_CONSOLE_ORIGIN). */
  origin: string;
}

export const CONSOLE_SETTINGS = Symbol('CONSOLE_SETTINGS');

/** The console page a person opens to enrol with a one-time link (the token travels in the query). */
export function enrolmentUrl(origin: string, enrolmentToken: string): string {
  return `${origin}/console/enrol?token=${encodeURIComponent(enrolmentToken)}`;
}

/** An issued enrolment link as the APIs answer it (snake_case, the secret included: shown once). */
export function toEnrolmentLinkAnswer(origin: string, link: { identityId: string; enrolmentToken: string; linkId: string; expiresAt: Date }) {
  return {
    identity_id: link.identityId,
    enrolment_token: link.enrolmentToken,
    link_id: link.linkId,
    expire_time: link.expiresAt.toISOString(),
    enrolment_url: enrolmentUrl(origin, link.enrolmentToken),
  };
}
