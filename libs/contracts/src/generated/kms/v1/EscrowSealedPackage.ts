// Original file: src/proto/kms/v1/key_management_service.proto


export interface EscrowSealedPackage {
  'custodian_id'?: (string);
  'share_index'?: (number);
  'package_fingerprint'?: (string);
  'package_json'?: (string);
  'transcript_json'?: (string);
  'attestation_signature'?: (string);
}

export interface EscrowSealedPackage__Output {
  'custodian_id': (string);
  'share_index': (number);
  'package_fingerprint': (string);
  'package_json': (string);
  'transcript_json': (string);
  'attestation_signature': (string);
}
