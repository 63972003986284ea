import { noticeToObject } from '../notice/notice-cloud-event';
import type { KeyNotice } from '../notice/notice.model';
import type { NoticeStore } from '../ports/notice-store.port';
import { sampleRotationNotice } from './notice.fixtures';

/** One adapter instance under test, and how to release it. */
export interface NoticeStoreHarness {
  store: NoticeStore;
  /** Frees what the factory made (pool, schema). */
  cleanup(): Promise<void>;
}

/**
 * The behaviour every NoticeStore adapter must show (STYLE.md 4), checkpoints aside (run
 * `checkpointStoreContract` from `@kms/event-store/testing` for those). Call it at the top level of the
 * adapter's spec: `noticeStoreContract('PostgresNoticeStore', async () => ({ store, cleanup }))`.
 * The factory runs once per suite; each test records notices in a position range of its own.
 */
export function noticeStoreContract(name: string, factory: () => Promise<NoticeStoreHarness>): void {
  describe(`${name} satisfies the NoticeStore contract`, () => {
    let harness: NoticeStoreHarness | undefined;
    let nextRange = 1n;
    const store = (): NoticeStore => {
      if (!harness) throw new Error('the notice store factory failed; see beforeAll');
      return harness.store;
    };

    /** A range of positions no other test uses, with a notice maker and a reader limited to it. */
    function range() {
      const base = nextRange++ * 1_000_000n;
      return {
        base,
        notice: (offset: number, overrides: Parameters<typeof sampleRotationNotice>[0] = {}): KeyNotice => sampleRotationNotice({ ...overrides, position: base + BigInt(offset) }),
        list: async (afterOffset = 0, limit = 1000) => (await store().list(base + BigInt(afterOffset), limit)).filter((n) => n.position < base + 1_000_000n),
      };
    }

    beforeAll(async () => {
      harness = await factory();
    });

    afterAll(async () => {
      await harness?.cleanup();
    });

    it('lists a recorded notice with its CloudEvent JSON, type, subject and position, not yet acknowledged', async () => {
      const r = range();
      const notice = r.notice(1, { urgent: true, data: { reason: 'COMPROMISE', urgent: true } });
      await store().record(notice);
      expect(await r.list()).toEqual([
        { id: notice.id, position: notice.position, type: 'kms.key.rotated.v1', subject: notice.subject, cloudEvent: noticeToObject(notice), publishedAt: null },
      ]);
    });

    it('records a notice once: recording the same id again changes nothing', async () => {
      const r = range();
      const notice = r.notice(1);
      await store().record(notice);
      await store().record({ ...notice, data: { ...notice.data, version: 99 } });
      const listed = await r.list();
      expect(listed.map((n) => n.id)).toEqual([notice.id]);
      expect(listed[0]?.cloudEvent).toEqual(noticeToObject(notice));
    });

    it('lists in position order, after the given position (exclusive), at most `limit`', async () => {
      const r = range();
      const notices = [r.notice(5), r.notice(2), r.notice(9), r.notice(3)];
      for (const n of notices) await store().record(n);
      expect((await r.list()).map((n) => n.position)).toEqual([2, 3, 5, 9].map((o) => r.base + BigInt(o)));
      expect((await r.list(3)).map((n) => n.position)).toEqual([5, 9].map((o) => r.base + BigInt(o)));
      expect((await r.list(0, 2)).map((n) => n.position)).toEqual([2, 3].map((o) => r.base + BigInt(o)));
    });

    it('marks the notice a commit names as acknowledged at the given time, moving the checkpoint with it', async () => {
      const r = range();
      const relay = `relay-${r.base}`;
      const [first, second] = [r.notice(1), r.notice(2)];
      await store().record(first);
      await store().record(second);
      const at = new Date('2026-03-04T05:06:07.890Z');
      await store().commit(relay, first.position, { id: first.id, at });
      expect((await r.list()).map((n) => [n.id, n.publishedAt])).toEqual([
        [first.id, at],
        [second.id, null],
      ]);
      expect(await store().loadCheckpoint(relay)).toBe(first.position);
    });

    it('keeps the first acknowledgement time when a notice is acknowledged again (a re-send after a restart)', async () => {
      const r = range();
      const relay = `relay-${r.base}`;
      const notice = r.notice(1);
      await store().record(notice);
      const first = new Date('2026-03-04T05:06:07.000Z');
      await store().commit(relay, notice.position, { id: notice.id, at: first });
      await store().commit(relay, notice.position, { id: notice.id, at: new Date('2026-03-05T00:00:00.000Z') });
      expect((await r.list())[0]?.publishedAt).toEqual(first);
    });

    it('given a commit behind the checkpoint, then the checkpoint stays but the acknowledgement is recorded', async () => {
      const r = range();
      const relay = `relay-${r.base}`;
      const notice = r.notice(1);
      await store().record(notice);
      await store().commit(relay, r.base + 10n);
      const at = new Date('2026-03-04T05:06:07.000Z');
      await store().commit(relay, notice.position, { id: notice.id, at });
      expect(await store().loadCheckpoint(relay)).toBe(r.base + 10n);
      expect((await r.list())[0]?.publishedAt).toEqual(at);
    });
  });
}
