import { DAY_MS } from '@kms/domain';
import { day, History } from '../testing/key-history.fixture';
import { delayUntil, planDeadlines } from './deadline.planner';
import { foldScheduledKeys } from './scheduled-key.projection';

describe('deadline planner', () => {
  it('given a service envelope key created at day 0, then its rotation is due at day 60', () => {
    expect(new History().created('k1', 'SERVICE_ENVELOPE', 0).plan()).toEqual([['rotate:k1:v1', 60]]);
  });

  it('given a key rotated by hand at day 50, then the rotation moves to day 110 and v1 is retired 365 days after day 50', () => {
    const plan = new History().created('k1', 'SERVICE_ENVELOPE', 0).rotated('k1', 50).plan();
    expect(plan).toEqual([
      ['rotate:k1:v2', 110],
      ['retire:k1:v1', 415],
    ]);
  });

  it('given a shorter rotation period, then the rotation follows the key, not the purpose maximum', () => {
    expect(new History().created('k1', 'ROOT_TENANT', 0, 30).plan()).toEqual([['rotate:k1:v1', 30]]);
  });

  it('given a root tenant key rotated at day 0, then v1 retention ends at day 365', () => {
    expect(new History().created('r', 'ROOT_TENANT', 0).rotated('r', 0).plan()).toEqual([
      ['rotate:r:v2', 90],
      ['retire:r:v1', 365],
    ]);
  });

  it('given a retired version scheduled for destruction, then only its destruction is planned, at destroyAt', () => {
    const plan = new History().created('r', 'ROOT_TENANT', 0).rotated('r', 0).destructionScheduled('r', 1, 365, 30).plan();
    expect(plan).toEqual([
      ['rotate:r:v2', 90],
      ['destroy:r:v1', 395],
    ]);
  });

  it('given an imported version with an expiry, then its destruction is planned at the expiry, primary or not; none without one', () => {
    expect(new History().created('b', 'SERVICE_ENVELOPE', 0).imported('b', 5, 10).plan()).toEqual([
      ['destroy:b:v2', 15],
      ['rotate:b:v2', 65],
      ['retire:b:v1', 370],
    ]);
    expect(new History().created('b', 'SERVICE_ENVELOPE', 0).imported('b', 5, 400).rotated('b', 20).plan()).toEqual([
      ['rotate:b:v3', 80],
      ['retire:b:v1', 370],
      ['destroy:b:v2', 405],
    ]);
    expect(new History().created('b', 'SERVICE_ENVELOPE', 0).imported('b', 5).plan()).toEqual([
      ['rotate:b:v2', 65],
      ['retire:b:v1', 370],
    ]);
    expect(new History().created('b', 'SERVICE_ENVELOPE', 0).imported('b', 5, 10).destroyed('b', 2, 15).plan()).toEqual([['retire:b:v1', 370]]);
  });

  it('given an export key, then its rotation is planned at the export expiry, and by the period once rotated after it', () => {
    expect(new History().created('x', 'SERVICE_ENVELOPE', 0, undefined, 3).plan()).toEqual([['rotate:x:v1', 3]]);
    expect(new History().created('x', 'SERVICE_ENVELOPE', 0, undefined, 3).rotated('x', 3, 'SCHEDULED').plan()).toEqual([
      ['rotate:x:v2', 63],
      ['retire:x:v1', 368],
    ]);
    // An expiry after the period changes nothing: the period comes first.
    expect(new History().created('x', 'SERVICE_ENVELOPE', 0, undefined, 90).plan()).toEqual([['rotate:x:v1', 60]]);
  });

  it('given a destroyed version, then nothing is planned for it', () => {
    const plan = new History().created('r', 'ROOT_TENANT', 0).rotated('r', 0).destructionScheduled('r', 1, 365, 30).destroyed('r', 1, 395).plan();
    expect(plan).toEqual([['rotate:r:v2', 90]]);
  });

  it('given a disabled retired version, then its retention still ends 365 days after it stopped being primary', () => {
    const plan = new History().created('s', 'SERVICE_ENVELOPE', 0).rotated('s', 10).disabled('s', 1, 20).plan();
    expect(plan).toEqual([
      ['rotate:s:v2', 70],
      ['retire:s:v1', 375],
    ]);
  });

  it('given a break-glass key never used, then it is re-sealed every 30 days and the old package retired at once', () => {
    const h = new History().created('bg', 'BREAK_GLASS', 0);
    expect(h.plan()).toEqual([['rotate:bg:v1', 30]]);
    expect(h.rotated('bg', 30, 'SCHEDULED').plan()).toEqual([
      ['retire:bg:v1', 30],
      ['rotate:bg:v2', 60],
    ]);
  });

  it('given an escrowed break-glass key resealed at day 30, then its escrow deadline is declareBy, not a retirement, and moves to the last declaration once all are in', () => {
    const h = new History().created('bg', 'BREAK_GLASS', 0).sealed('bg', 1, 0, ['carol', 'dave']).rotated('bg', 30, 'SCHEDULED').sealed('bg', 2, 30, ['carol', 'dave']).superseded('bg', 1, 30, 33);
    expect(h.plan()).toEqual([
      ['escrow:bg:v1', 33],
      ['rotate:bg:v2', 60],
    ]);
    // One declaration: still declareBy.
    expect(h.declared('bg', 1, 'carol', 31).plan()).toEqual([
      ['escrow:bg:v1', 33],
      ['rotate:bg:v2', 60],
    ]);
    // The window passed and the alert was raised: nothing until the last declaration comes in.
    expect(h.declarationsOverdue('bg', 1, 33, ['dave']).plan()).toEqual([['rotate:bg:v2', 60]]);
    // All in: due at once (the settling destroys v1).
    expect(h.declared('bg', 1, 'dave', 35).plan()).toEqual([
      ['escrow:bg:v1', 35],
      ['rotate:bg:v2', 60],
    ]);
    expect(h.escrowDestroyed('bg', 1, 35).plan()).toEqual([['rotate:bg:v2', 60]]);
  });

  it('given a rotated data protection key, then v1 is up for retirement at once (the job holds it while ciphertexts remain under it)', () => {
    const h = new History().created('dp', 'DATA_PROTECTION', 0).rotated('dp', 100);
    expect(h.plan()).toEqual([
      ['retire:dp:v1', 100],
      ['rotate:dp:v2', 280],
    ]);
  });

  it('given a dependent that has not confirmed the new primary, then no older version is retired until it does', () => {
    const partner = '99999999-8888-4777-8666-555555555555';
    const h = new History().created('r', 'ROOT_TENANT', 0).dependentRegistered('r', partner, 1).rotated('r', 10);
    // Only the confirmation window's own deadline (24 h after the rotation) is planned meanwhile.
    expect(h.plan()).toEqual([
      ['confirm:r:v2', 11],
      ['rotate:r:v2', 100],
    ]);
    h.confirmed('r', partner, 2, 400);
    expect(h.plan()).toEqual([
      ['rotate:r:v2', 100],
      ['retire:r:v1', 375],
    ]);
  });

  it('given a disabled primary version, then no rotation is planned (the key service would refuse it)', () => {
    expect(new History().created('k', 'SERVICE_ENVELOPE', 0).disabled('k', 1, 5).plan()).toEqual([]);
  });

  it('given several keys, then deadlines come in due order and the same events always give the same job ids', () => {
    const h = new History().created('a', 'DATA_PROTECTION', 0).created('b', 'BREAK_GLASS', 1).created('c', 'SERVICE_ENVELOPE', 2);
    expect(h.plan()).toEqual([
      ['rotate:b:v1', 31],
      ['rotate:c:v1', 62],
      ['rotate:a:v1', 180],
    ]);
    expect(h.plan()).toEqual(h.plan());
  });

  it('given the same event delivered twice (a re-read), then the view does not change', () => {
    const h = new History().created('k', 'SERVICE_ENVELOPE', 0).rotated('k', 50);
    const events = h.stored();
    const twice = foldScheduledKeys([...events, ...events]);
    expect(planDeadlines(twice.values())).toEqual(planDeadlines(foldScheduledKeys(events).values()));
  });

  it('computes the delay from the clock it is given, never negative', () => {
    expect(delayUntil({ dueAt: day(60) }, new Date(day(59)))).toBe(DAY_MS);
    expect(delayUntil({ dueAt: day(60) }, new Date(day(61)))).toBe(0);
  });
});
