// Original file: src/proto/kms/v1/key_management_service.proto


export interface GenerateRandomResponse {
  'data'?: (Buffer | Uint8Array | string);
}

export interface GenerateRandomResponse__Output {
  'data': (Buffer);
}
