import { KmsError } from '../errors/kms-error';
import { foldWith } from '../events/decider';
import { nextProofLink, type ProofChainCommand, proofChainDecider, type ProofChainEvent } from './proof-chain.decider';

const meta = { now: new Date('2026-03-01T09:00:00.000Z'), actor: 'platform', correlationId: 'req-1' };

function issue(seq: number, iat: number, prev: string | null, tokenHash = `${seq}`.padStart(64, '0')): ProofChainCommand {
  return { type: 'IssueProofToken', data: { tenant: 'acme', seq, iat, prev, kid: 'k:1', token: `t${seq}`, tokenHash }, metadata: meta };
}

describe('proof chain decider', () => {
  it('given an empty chain, when the first token is issued, then it is seq 1 with no prev', () => {
    const events = proofChainDecider.decide(issue(1, 100, null), proofChainDecider.initialState());
    expect(events.map((e) => [e.type, e.data.seq, e.data.prev])).toEqual([['ProofTokenIssued', 1, null]]);
  });

  it('given two tokens, the next link is seq 3 carrying the second hash, never earlier than its iat', () => {
    const history: ProofChainEvent[] = [...proofChainDecider.decide(issue(1, 100, null), proofChainDecider.initialState())];
    const afterOne = foldWith(proofChainDecider, history);
    history.push(...proofChainDecider.decide(issue(2, 200, afterOne.status === 'Open' ? afterOne.lastHash : null), afterOne));
    const state = foldWith(proofChainDecider, history);
    expect(nextProofLink(state, 150)).toEqual({ seq: 3, iat: 200, prev: '2'.padStart(64, '0') });
    expect(nextProofLink(state, 300)).toEqual({ seq: 3, iat: 300, prev: '2'.padStart(64, '0') });
  });

  it('refuses a token that is not the next link: a gap, a wrong prev, a time going back', () => {
    const state = foldWith(proofChainDecider, proofChainDecider.decide(issue(1, 100, null), proofChainDecider.initialState()));
    const head = '1'.padStart(64, '0');
    for (const bad of [issue(3, 200, head), issue(2, 200, 'f'.repeat(64)), issue(2, 50, head)]) {
      expect(() => proofChainDecider.decide(bad, state)).toThrow(KmsError);
    }
    expect(proofChainDecider.decide(issue(2, 100, head), state)).toHaveLength(1);
  });
});
