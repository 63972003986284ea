import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The notification relay's checkpoint: the store position through which every notification was delivered or dead-lettered. */
export class CreateNotificationCheckpoints1796400000000 implements MigrationInterface {
  name = 'CreateNotificationCheckpoints1796400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE kms_notification_checkpoints (
        relay      text        PRIMARY KEY,
        position   bigint      NOT NULL CHECK (position >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE kms_notification_checkpoints');
  }
}

/** Migrations of the notification tables, in order. */
export const notificationMigrations = [CreateNotificationCheckpoints1796400000000];
