import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DETECTOR_STATE_TABLES_SQL } from './postgres-detector-state.store';

/**
 * The detector's checkpoint and baselines, created by the owner role like every table (the service
 * role may not CREATE). IF NOT EXISTS: databases where the detector created them itself keep them.
 */
export class CreateDetectorState1796200000000 implements MigrationInterface {
  name = 'CreateDetectorState1796200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(DETECTOR_STATE_TABLES_SQL);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE anomaly_detector_subjects');
    await queryRunner.query('DROP TABLE anomaly_detector_checkpoints');
  }
}

/** Migrations of the detector's tables, for runMigrations(). */
export const detectorStateMigrations = [CreateDetectorState1796200000000];
