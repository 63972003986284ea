// Original file: src/proto/kms/v1/key_management_service.proto

import type { KeyVersionState as _kms_v1_KeyVersionState, KeyVersionState__Output as _kms_v1_KeyVersionState__Output } from '../../kms/v1/KeyVersionState';
import type { Algorithm as _kms_v1_Algorithm, Algorithm__Output as _kms_v1_Algorithm__Output } from '../../kms/v1/Algorithm';
import type { ProtectionLevel as _kms_v1_ProtectionLevel, ProtectionLevel__Output as _kms_v1_ProtectionLevel__Output } from '../../kms/v1/ProtectionLevel';
import type { Long } from '@grpc/proto-loader';

export interface KeyVersion {
  'version'?: (number);
  'state'?: (_kms_v1_KeyVersionState);
  'algorithm'?: (_kms_v1_Algorithm);
  'protection_level'?: (_kms_v1_ProtectionLevel);
  'create_time'?: (string);
  'destroy_time'?: (string);
  'destroyed_time'?: (string);
  'public_key_fingerprint'?: (string);
  'compromised_time'?: (string);
  'outstanding_ciphertexts'?: (number | string | Long);
  'imported'?: (boolean);
  'expire_time'?: (string);
}

export interface KeyVersion__Output {
  'version': (number);
  'state': (_kms_v1_KeyVersionState__Output);
  'algorithm': (_kms_v1_Algorithm__Output);
  'protection_level': (_kms_v1_ProtectionLevel__Output);
  'create_time': (string);
  'destroy_time': (string);
  'destroyed_time': (string);
  'public_key_fingerprint': (string);
  'compromised_time': (string);
  'outstanding_ciphertexts': (string);
  'imported': (boolean);
  'expire_time': (string);
}
