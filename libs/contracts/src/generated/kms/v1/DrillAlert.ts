// Original file: src/proto/kms/v1/key_management_service.proto


export interface DrillAlert {
  'subject'?: (string);
  'due_date'?: (string);
  'drill_id'?: (string);
  'follow_up_id'?: (number);
  'owner'?: (string);
}

export interface DrillAlert__Output {
  'subject': (string);
  'due_date': (string);
  'drill_id': (string);
  'follow_up_id': (number);
  'owner': (string);
}
