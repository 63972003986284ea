// Original file: src/proto/kms/v1/key_management_service.proto


export interface VerifyMacRequest {
  'key_id'?: (string);
  'key_version'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'mac'?: (Buffer | Uint8Array | string);
}

export interface VerifyMacRequest__Output {
  'key_id': (string);
  'key_version': (number);
  'data': (Buffer);
  'mac': (Buffer);
}
