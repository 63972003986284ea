// Original file: src/proto/kms/v1/key_management_service.proto

import type { DrillFollowUpInput as _kms_v1_DrillFollowUpInput, DrillFollowUpInput__Output as _kms_v1_DrillFollowUpInput__Output } from '../../kms/v1/DrillFollowUpInput';

export interface RecordDrillRequest {
  'date'?: (string);
  'participants'?: (string)[];
  'archive'?: (string);
  'outcome'?: (string);
  'follow_ups'?: (_kms_v1_DrillFollowUpInput)[];
}

export interface RecordDrillRequest__Output {
  'date': (string);
  'participants': (string)[];
  'archive': (string);
  'outcome': (string);
  'follow_ups': (_kms_v1_DrillFollowUpInput__Output)[];
}
