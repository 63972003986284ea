// Original file: src/proto/kms/v1/key_management_service.proto


export interface Dependent {
  'dependent_id'?: (string);
  'name'?: (string);
  'confirmed_version'?: (number);
  'confirmed_time'?: (string);
  'registered_time'?: (string);
}

export interface Dependent__Output {
  'dependent_id': (string);
  'name': (string);
  'confirmed_version': (number);
  'confirmed_time': (string);
  'registered_time': (string);
}
