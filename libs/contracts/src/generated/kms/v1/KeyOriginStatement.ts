// Original file: src/proto/kms/v1/key_management_service.proto


export interface KeyOriginStatement {
  'statement_json'?: (string);
  'signature'?: (string);
  'attestation_public_key_pem'?: (string);
  'attestation_key_fingerprint'?: (string);
}

export interface KeyOriginStatement__Output {
  'statement_json': (string);
  'signature': (string);
  'attestation_public_key_pem': (string);
  'attestation_key_fingerprint': (string);
}
