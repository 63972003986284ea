import type { MigrationInterface, QueryRunner } from 'typeorm';
import { FOLLOWER_SNAPSHOT_TABLE_SQL } from './follower-snapshot.store';

/**
 * The follower's checkpoint table, created by the owner role like every table (the service role
 * may not CREATE). IF NOT EXISTS: databases where the scheduler created it itself keep it.
 */
export class CreateFollowerSnapshots1796200000001 implements MigrationInterface {
  name = 'CreateFollowerSnapshots1796200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(FOLLOWER_SNAPSHOT_TABLE_SQL);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE rotation_scheduler_checkpoints');
  }
}

/** Migrations of the follower's checkpoint table, for runMigrations(). */
export const followerSnapshotMigrations = [CreateFollowerSnapshots1796200000001];
