// Original file: src/proto/kms/v1/key_management_service.proto


export interface GenerateRandomRequest {
  'length_bytes'?: (number);
}

export interface GenerateRandomRequest__Output {
  'length_bytes': (number);
}
