// Original file: src/proto/kms/v1/key_management_service.proto

import type { KeyPurpose as _kms_v1_KeyPurpose, KeyPurpose__Output as _kms_v1_KeyPurpose__Output } from '../../kms/v1/KeyPurpose';
import type { Algorithm as _kms_v1_Algorithm, Algorithm__Output as _kms_v1_Algorithm__Output } from '../../kms/v1/Algorithm';
import type { ProtectionLevel as _kms_v1_ProtectionLevel, ProtectionLevel__Output as _kms_v1_ProtectionLevel__Output } from '../../kms/v1/ProtectionLevel';
import type { KeyVersion as _kms_v1_KeyVersion, KeyVersion__Output as _kms_v1_KeyVersion__Output } from '../../kms/v1/KeyVersion';
import type { KeyPolicy as _kms_v1_KeyPolicy, KeyPolicy__Output as _kms_v1_KeyPolicy__Output } from '../../kms/v1/KeyPolicy';
import type { Dependent as _kms_v1_Dependent, Dependent__Output as _kms_v1_Dependent__Output } from '../../kms/v1/Dependent';

export interface Key {
  'key_id'?: (string);
  'tenant'?: (string);
  'name'?: (string);
  'purpose'?: (_kms_v1_KeyPurpose);
  'algorithm'?: (_kms_v1_Algorithm);
  'protection_level'?: (_kms_v1_ProtectionLevel);
  'labels'?: ({[key: string]: string});
  'owner'?: (string);
  'create_time'?: (string);
  'rotation_period_days'?: (number);
  'next_rotation_time'?: (string);
  'primary_version'?: (number);
  'min_decryption_version'?: (number);
  'enabled'?: (boolean);
  'versions'?: (_kms_v1_KeyVersion)[];
  'policy'?: (_kms_v1_KeyPolicy | null);
  'dependents'?: (_kms_v1_Dependent)[];
  'jurisdiction'?: (string);
  'export_expire_time'?: (string);
  'exportable'?: (boolean);
}

export interface Key__Output {
  'key_id': (string);
  'tenant': (string);
  'name': (string);
  'purpose': (_kms_v1_KeyPurpose__Output);
  'algorithm': (_kms_v1_Algorithm__Output);
  'protection_level': (_kms_v1_ProtectionLevel__Output);
  'labels': ({[key: string]: string});
  'owner': (string);
  'create_time': (string);
  'rotation_period_days': (number);
  'next_rotation_time': (string);
  'primary_version': (number);
  'min_decryption_version': (number);
  'enabled': (boolean);
  'versions': (_kms_v1_KeyVersion__Output)[];
  'policy': (_kms_v1_KeyPolicy__Output | null);
  'dependents': (_kms_v1_Dependent__Output)[];
  'jurisdiction': (string);
  'export_expire_time': (string);
  'exportable': (boolean);
}
