// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface ImportKeyVersionRequest {
  'key_id'?: (string);
  'import_token'?: (string);
  'wrapped_key_material'?: (Buffer | Uint8Array | string);
  'expire_time'?: (string);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface ImportKeyVersionRequest__Output {
  'key_id': (string);
  'import_token': (string);
  'wrapped_key_material': (Buffer);
  'expire_time': (string);
  'context': (_kms_v1_ChangeContext__Output | null);
}
