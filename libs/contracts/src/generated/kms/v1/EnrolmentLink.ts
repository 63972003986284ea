// Original file: src/proto/kms/v1/key_management_service.proto


export interface EnrolmentLink {
  'identity_id'?: (string);
  'enrolment_token'?: (string);
  'link_id'?: (string);
  'expire_time'?: (string);
  'enrolment_url'?: (string);
}

export interface EnrolmentLink__Output {
  'identity_id': (string);
  'enrolment_token': (string);
  'link_id': (string);
  'expire_time': (string);
  'enrolment_url': (string);
}
