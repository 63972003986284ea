// Original file: src/proto/kms/v1/key_management_service.proto


export interface SignRequest {
  'key_id'?: (string);
  'message'?: (Buffer | Uint8Array | string);
  'digest'?: (Buffer | Uint8Array | string);
  'input'?: "message"|"digest";
}

export interface SignRequest__Output {
  'key_id': (string);
  'message'?: (Buffer);
  'digest'?: (Buffer);
  'input'?: "message"|"digest";
}
