// Original file: src/proto/kms/v1/key_management_service.proto


export interface CounterSignEscrowTranscriptRequest {
  'key_id'?: (string);
  'key_version'?: (number);
  'signature'?: (string);
}

export interface CounterSignEscrowTranscriptRequest__Output {
  'key_id': (string);
  'key_version': (number);
  'signature': (string);
}
