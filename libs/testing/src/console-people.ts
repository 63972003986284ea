import { type ConsoleCeremonies, ConsoleCallError, type EnrolledPerson } from './console-ceremonies';

/**
 * The people of a test and their devices. Each person enrols once, on first use, with a one-time
 * link the bootstrap administrator creates (the administrator with the link the service handed over
 * at first start), and signs in with both factors whenever a harness needs a token.
 */
export interface ConsolePeople {
  readonly ceremonies: ConsoleCeremonies;
  /** The person's factors, enrolled on first use. */
  factorsOf(identityId: string): Promise<EnrolledPerson>;
  /** A new token for the person from a full sign-in (security key + TOTP). */
  signIn(identityId: string): Promise<{ accessToken: string; expiresAt: Date }>;
  /** Factors a test enrolled by driving the routes itself, so later sign-ins use the same devices. */
  adopt(person: EnrolledPerson): void;
}

/**
 * People over the console routes, starting from the bootstrap administrator's enrolment link. A link
 * for anyone else takes two people (the KMS refuses one person's link with APPROVAL_REQUIRED):
 * `linkFor` obtains it (peopleRegistrar's `linkFor`); without it the administrator asks alone, which
 * only the first person the administrator registered alone may get.
 */
export function consolePeople(
  ceremonies: ConsoleCeremonies,
  bootstrap: { identityId: string; enrolmentToken: string },
  options: { linkFor?: (identityId: string) => Promise<string> } = {},
): ConsolePeople {
  const enrolled = new Map<string, Promise<EnrolledPerson>>();
  // The administrator's token for creating links, kept while it has a minute left on the service's
  // clock: each sign-in spends a TOTP step, and a person may sign in only so often per 30 s.
  let linkToken: { accessToken: string; expiresAt: Date } | undefined;
  const adminToken = async (): Promise<string> => {
    if (!linkToken || linkToken.expiresAt.getTime() - 60_000 <= ceremonies.clock.now().getTime()) linkToken = await signIn(bootstrap.identityId);
    return linkToken.accessToken;
  };
  const factorsOf = (identityId: string): Promise<EnrolledPerson> => {
    let person = enrolled.get(identityId);
    if (!person) {
      person =
        identityId === bootstrap.identityId
          ? ceremonies.enrol(identityId, bootstrap.enrolmentToken)
          : (options.linkFor
              ? options.linkFor(identityId)
              : adminToken()
                  .then((token) => ceremonies.createEnrolmentLink(identityId, token))
                  .catch(async (e: unknown) => {
                    // A kept token that no longer authenticates (e.g. the administrator's credential changed): sign in again, once.
                    if (!(e instanceof ConsoleCallError && e.status === 401)) throw e;
                    linkToken = undefined;
                    return ceremonies.createEnrolmentLink(identityId, await adminToken());
                  })
            ).then((link) => ceremonies.enrol(identityId, link));
      enrolled.set(identityId, person);
      // A failed enrolment (e.g. the person is suspended) is tried again next time.
      const attempt = person;
      attempt.catch(() => enrolled.get(identityId) === attempt && enrolled.delete(identityId));
    }
    return person;
  };
  const signIn = async (identityId: string) => ceremonies.signIn(await factorsOf(identityId));
  return {
    ceremonies,
    factorsOf,
    signIn,
    adopt: (person) => void enrolled.set(person.identityId, Promise.resolve(person)),
  };
}

/**
 * A token kept while the clock has moved less than five minutes (tokens live fifteen), re-obtained
 * with `issue` after that or when the clock went back; concurrent callers share one request.
 */
export function cachedToken(now: () => Date, issue: () => Promise<string>): (() => Promise<string>) & { forget(): void } {
  let cached: { token: Promise<string>; at: number } | undefined;
  const token = () => {
    const at = now().getTime();
    if (!cached || at - cached.at > 5 * 60_000 || at < cached.at) {
      const attempt = { token: issue(), at };
      cached = attempt;
      attempt.token.catch(() => cached === attempt && (cached = undefined));
    }
    return cached.token;
  };
  return Object.assign(token, { forget: () => void (cached = undefined) });
}
