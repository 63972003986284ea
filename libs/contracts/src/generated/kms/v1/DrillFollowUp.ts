// Original file: src/proto/kms/v1/key_management_service.proto


export interface DrillFollowUp {
  'drill_id'?: (string);
  'follow_up_id'?: (number);
  'owner'?: (string);
  'action'?: (string);
  'due_date'?: (string);
  'overdue'?: (boolean);
  'closed_at'?: (string);
  'closed_by'?: (string);
  'note'?: (string);
}

export interface DrillFollowUp__Output {
  'drill_id': (string);
  'follow_up_id': (number);
  'owner': (string);
  'action': (string);
  'due_date': (string);
  'overdue': (boolean);
  'closed_at': (string);
  'closed_by': (string);
  'note': (string);
}
