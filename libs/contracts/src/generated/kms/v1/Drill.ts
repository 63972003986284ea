// Original file: src/proto/kms/v1/key_management_service.proto

import type { DrillFollowUp as _kms_v1_DrillFollowUp, DrillFollowUp__Output as _kms_v1_DrillFollowUp__Output } from '../../kms/v1/DrillFollowUp';

export interface Drill {
  'drill_id'?: (string);
  'date'?: (string);
  'participants'?: (string)[];
  'archive'?: (string);
  'outcome'?: (string);
  'follow_ups'?: (_kms_v1_DrillFollowUp)[];
  'recorded_at'?: (string);
  'recorded_by'?: (string);
}

export interface Drill__Output {
  'drill_id': (string);
  'date': (string);
  'participants': (string)[];
  'archive': (string);
  'outcome': (string);
  'follow_ups': (_kms_v1_DrillFollowUp__Output)[];
  'recorded_at': (string);
  'recorded_by': (string);
}
