/** How a harness calls the KMS as one of its actors, and makes an actor from a new credential. */
export interface PeopleRegistrarOptions<A> {
  /** The bootstrap administrator. */
  admin: A;
  call(who: A, method: string, request: Record<string, unknown>): Promise<Record<string, unknown>>;
  person(clientId: string, name: string, clientSecret: string): A;
}

const CONTEXT = { change_ticket: 'CHG-TEST-PEOPLE', reason: 'test setup: register a person' };
const REGISTRARS = ['people-registrar-1', 'people-registrar-2'] as const;

/** The approval id an APPROVAL_REQUIRED refusal names ("approval required: request <id> was created ..."). */
export function approvalIdOf(e: unknown): string {
  const code = (e as { errorCode?: unknown } | null)?.errorCode;
  const id = /request ([0-9a-f-]{36}) was created/.exec(String((e as { message?: unknown } | null)?.message))?.[1];
  if (code !== 'APPROVAL_REQUIRED' || !id) throw e;
  return id;
}

/** Registers a person (see peopleRegistrar), with how each person's enrolment link is obtained. */
export interface PeopleRegistrar<A> {
  (name: string, roles: string[]): Promise<A>;
  /**
   * A one-time enrolment link for the person, by two people as the KMS requires: the first registrar's
   * from the administrator alone (the bootstrap exception), the second registrar's asked for by the
   * first and approved by the administrator, everyone else's asked for by registrar 2 and approved by
   * registrar 1 (who receives it). Pass it to consolePeople as `linkFor`.
   */
  linkFor(identityId: string): Promise<string>;
}

const LINK_CONTEXT = { change_ticket: 'CHG-TEST-PEOPLE', reason: 'test setup: enrol a person' };

/**
 * Registers people over the real API now that a person takes two people (issue 13). Lazily, once:
 * the bootstrap administrator registers registrar 1 alone (its one exception); registrar 1 asks for
 * registrar 2 and the administrator approves. Every further person is asked for by registrar 2 and
 * approved by registrar 1 (who receives the credential), and their enrolment links the same way, so
 * the people a test uses were created, changed or enrolled by neither the administrator nor with its
 * approval, and may approve the administrator's requests. Each call returns the new person as the
 * harness's actor.
 */
export function peopleRegistrar<A>(o: PeopleRegistrarOptions<A>): PeopleRegistrar<A> {
  let registrars: Promise<{ asks: A; approves: A; ids: [string, string] }> | undefined;
  // Known as soon as registered: registrar 1 signs in (so needs its link) while registrar 2 is being set up.
  let firstRegistrarId: string | undefined;

  const viaApproval = async (asks: A, approves: A, name: string, roles: string[]): Promise<{ actor: A; id: string }> => {
    let approvalId: string;
    try {
      await o.call(asks, 'RegisterIdentity', { name, kind: 'HUMAN', roles, context: CONTEXT });
      throw new Error(`registering the person ${name} did not ask for a second person`);
    } catch (e) {
      approvalId = approvalIdOf(e);
    }
    const done = await o.call(approves, 'ApproveRequest', { approval_id: approvalId, context: CONTEXT });
    const issued = done['issued_credential'] as { client_id: string; client_secret: string } | undefined;
    if (done['status'] !== 'EXECUTED' || !issued) throw new Error(`registering the person ${name} was not executed: ${JSON.stringify(done)}`);
    made.add(issued.client_id);
    return { actor: o.person(issued.client_id, name, issued.client_secret), id: issued.client_id };
  };

  const setUp = async () => {
    const first = await o.call(o.admin, 'RegisterIdentity', { name: REGISTRARS[0], kind: 'HUMAN', roles: ['security-engineering'], context: CONTEXT });
    firstRegistrarId = first['client_id'] as string;
    const one = o.person(firstRegistrarId, REGISTRARS[0], first['client_secret'] as string);
    const two = await viaApproval(one, o.admin, REGISTRARS[1], ['security-engineering']);
    return { asks: two.actor, approves: one, ids: [firstRegistrarId, two.id] as [string, string] };
  };

  // The people this registrar made (registrar 2 included): their links take the two registrars.
  const made = new Set<string>();
  const linkFor = async (identityId: string): Promise<string> => {
    // Registrar 1, or a person a test registered itself (the administrator's first person, say): the
    // administrator alone, which the KMS allows only under the bootstrap exception.
    if (identityId === firstRegistrarId || !made.has(identityId)) {
      const direct = await o.call(o.admin, 'CreateEnrolmentLink', { identity_id: identityId, context: LINK_CONTEXT });
      return direct['enrolment_token'] as string;
    }
    const { asks, approves, ids } = await (registrars ??= setUp());
    const [asker, approver] = identityId === ids[1] ? [approves, o.admin] : [asks, approves];
    let approvalId: string;
    try {
      await o.call(asker, 'CreateEnrolmentLink', { identity_id: identityId, context: LINK_CONTEXT });
      throw new Error(`the enrolment link for ${identityId} did not ask for a second person`);
    } catch (e) {
      approvalId = approvalIdOf(e);
    }
    const done = await o.call(approver, 'ApproveRequest', { approval_id: approvalId, context: LINK_CONTEXT });
    const link = done['issued_enrolment_link'] as { enrolment_token?: string } | undefined;
    if (done['status'] !== 'EXECUTED' || !link?.enrolment_token) throw new Error(`the enrolment link for ${identityId} was not issued: ${JSON.stringify({ ...done, issued_enrolment_link: link ? '(redacted)' : undefined })}`);
    return link.enrolment_token;
  };

  const register = async (name: string, roles: string[]) => {
    registrars ??= setUp();
    const { asks, approves } = await registrars;
    return (await viaApproval(asks, approves, name, roles)).actor;
  };
  return Object.assign(register, { linkFor });
}
