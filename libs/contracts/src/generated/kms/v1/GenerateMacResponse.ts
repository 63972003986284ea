// Original file: src/proto/kms/v1/key_management_service.proto


export interface GenerateMacResponse {
  'mac'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface GenerateMacResponse__Output {
  'mac': (Buffer);
  'key_id': (string);
  'key_version': (number);
}
