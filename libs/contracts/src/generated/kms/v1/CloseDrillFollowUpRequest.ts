// Original file: src/proto/kms/v1/key_management_service.proto


export interface CloseDrillFollowUpRequest {
  'drill_id'?: (string);
  'follow_up_id'?: (number);
  'note'?: (string);
}

export interface CloseDrillFollowUpRequest__Output {
  'drill_id': (string);
  'follow_up_id': (number);
  'note': (string);
}
