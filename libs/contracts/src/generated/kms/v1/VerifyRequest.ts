// Original file: src/proto/kms/v1/key_management_service.proto


export interface VerifyRequest {
  'key_id'?: (string);
  'key_version'?: (number);
  'message'?: (Buffer | Uint8Array | string);
  'digest'?: (Buffer | Uint8Array | string);
  'signature'?: (Buffer | Uint8Array | string);
  'input'?: "message"|"digest";
}

export interface VerifyRequest__Output {
  'key_id': (string);
  'key_version': (number);
  'message'?: (Buffer);
  'digest'?: (Buffer);
  'signature': (Buffer);
  'input'?: "message"|"digest";
}
