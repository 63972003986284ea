// Original file: src/proto/kms/v1/key_management_service.proto


export interface ResidencyCrossing {
  'from_jurisdiction'?: (string);
  'to_jurisdiction'?: (string);
}

export interface ResidencyCrossing__Output {
  'from_jurisdiction': (string);
  'to_jurisdiction': (string);
}
