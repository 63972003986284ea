// Original file: src/proto/kms/v1/key_management_service.proto


export interface GenerateMacRequest {
  'key_id'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface GenerateMacRequest__Output {
  'key_id': (string);
  'data': (Buffer);
}
