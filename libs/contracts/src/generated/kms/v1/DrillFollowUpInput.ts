// Original file: src/proto/kms/v1/key_management_service.proto


export interface DrillFollowUpInput {
  'owner'?: (string);
  'action'?: (string);
}

export interface DrillFollowUpInput__Output {
  'owner': (string);
  'action': (string);
}
