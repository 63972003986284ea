import { checkpointStoreContract } from '@kms/event-store/testing';
import { noticeStoreContract } from '@kms/notices/testing';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { noticeMigrations } from './notices.migration';
import { PostgresNoticeStore } from './postgres-notice-store';

/** A PostgresNoticeStore on a schema of its own, dropped afterwards. */
async function postgresNoticeStore(prefix: string) {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema(prefix) };
  await runMigrations(target, noticeMigrations);
  const pool = createPgPool(target, { max: 4 });
  return {
    store: new PostgresNoticeStore(pool),
    cleanup: async () => {
      await pool.end();
      await dropSchema(target);
    },
  };
}

noticeStoreContract('PostgresNoticeStore', () => postgresNoticeStore('notice_store'));
checkpointStoreContract('PostgresNoticeStore', () => postgresNoticeStore('notice_cp'));
