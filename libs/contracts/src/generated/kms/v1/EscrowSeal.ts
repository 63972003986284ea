// Original file: src/proto/kms/v1/key_management_service.proto

import type { EscrowSealedPackage as _kms_v1_EscrowSealedPackage, EscrowSealedPackage__Output as _kms_v1_EscrowSealedPackage__Output } from '../../kms/v1/EscrowSealedPackage';

export interface EscrowSeal {
  'transcript_json'?: (string);
  'attestation_signature'?: (string);
  'packages'?: (_kms_v1_EscrowSealedPackage)[];
}

export interface EscrowSeal__Output {
  'transcript_json': (string);
  'attestation_signature': (string);
  'packages': (_kms_v1_EscrowSealedPackage__Output)[];
}
