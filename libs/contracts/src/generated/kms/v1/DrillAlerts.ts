// Original file: src/proto/kms/v1/key_management_service.proto

import type { DrillAlert as _kms_v1_DrillAlert, DrillAlert__Output as _kms_v1_DrillAlert__Output } from '../../kms/v1/DrillAlert';
import type { DrillStatus as _kms_v1_DrillStatus, DrillStatus__Output as _kms_v1_DrillStatus__Output } from '../../kms/v1/DrillStatus';

export interface DrillAlerts {
  'reported'?: (_kms_v1_DrillAlert)[];
  'status'?: (_kms_v1_DrillStatus | null);
}

export interface DrillAlerts__Output {
  'reported': (_kms_v1_DrillAlert__Output)[];
  'status': (_kms_v1_DrillStatus__Output | null);
}
