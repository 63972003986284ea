import type { NoticesConfig } from '@kms/config';

/** Notice settings: the configuration's `notices` section (libs/config parses the environment). */
export type NoticeSettings = NoticesConfig;
