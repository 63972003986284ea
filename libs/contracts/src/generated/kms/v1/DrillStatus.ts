// Original file: src/proto/kms/v1/key_management_service.proto

import type { Drill as _kms_v1_Drill, Drill__Output as _kms_v1_Drill__Output } from '../../kms/v1/Drill';
import type { DrillFollowUp as _kms_v1_DrillFollowUp, DrillFollowUp__Output as _kms_v1_DrillFollowUp__Output } from '../../kms/v1/DrillFollowUp';

export interface DrillStatus {
  'last_drill'?: (_kms_v1_Drill | null);
  'monthly_drill_overdue'?: (boolean);
  'next_drill_due'?: (string);
  'open_follow_ups'?: (_kms_v1_DrillFollowUp)[];
  'recorded'?: (_kms_v1_Drill | null);
}

export interface DrillStatus__Output {
  'last_drill': (_kms_v1_Drill__Output | null);
  'monthly_drill_overdue': (boolean);
  'next_drill_due': (string);
  'open_follow_ups': (_kms_v1_DrillFollowUp__Output)[];
  'recorded': (_kms_v1_Drill__Output | null);
}
