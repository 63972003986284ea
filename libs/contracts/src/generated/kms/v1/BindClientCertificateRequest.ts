// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface BindClientCertificateRequest {
  'identity_id'?: (string);
  'certificate'?: (Buffer | Uint8Array | string);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface BindClientCertificateRequest__Output {
  'identity_id': (string);
  'certificate': (Buffer);
  'context': (_kms_v1_ChangeContext__Output | null);
}
