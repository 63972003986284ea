// Original file: src/proto/kms/v1/key_management_service.proto

import type { KeyPurpose as _kms_v1_KeyPurpose, KeyPurpose__Output as _kms_v1_KeyPurpose__Output } from '../../kms/v1/KeyPurpose';
import type { Algorithm as _kms_v1_Algorithm, Algorithm__Output as _kms_v1_Algorithm__Output } from '../../kms/v1/Algorithm';
import type { ProtectionLevel as _kms_v1_ProtectionLevel, ProtectionLevel__Output as _kms_v1_ProtectionLevel__Output } from '../../kms/v1/ProtectionLevel';
import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';
import type { KeyPolicy as _kms_v1_KeyPolicy, KeyPolicy__Output as _kms_v1_KeyPolicy__Output } from '../../kms/v1/KeyPolicy';

export interface CreateKeyRequest {
  'tenant'?: (string);
  'name'?: (string);
  'purpose'?: (_kms_v1_KeyPurpose);
  'algorithm'?: (_kms_v1_Algorithm);
  'protection_level'?: (_kms_v1_ProtectionLevel);
  'labels'?: ({[key: string]: string});
  'owner'?: (string);
  'rotation_period_days'?: (number);
  'context'?: (_kms_v1_ChangeContext | null);
  'policy'?: (_kms_v1_KeyPolicy | null);
  'jurisdiction'?: (string);
  'export_expires_at'?: (string);
  'exportable'?: (boolean);
}

export interface CreateKeyRequest__Output {
  'tenant': (string);
  'name': (string);
  'purpose': (_kms_v1_KeyPurpose__Output);
  'algorithm': (_kms_v1_Algorithm__Output);
  'protection_level': (_kms_v1_ProtectionLevel__Output);
  'labels': ({[key: string]: string});
  'owner': (string);
  'rotation_period_days': (number);
  'context': (_kms_v1_ChangeContext__Output | null);
  'policy': (_kms_v1_KeyPolicy__Output | null);
  'jurisdiction': (string);
  'export_expires_at': (string);
  'exportable': (boolean);
}
