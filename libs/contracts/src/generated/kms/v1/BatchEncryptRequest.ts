// Original file: src/proto/kms/v1/key_management_service.proto

import type { EncryptRequest as _kms_v1_EncryptRequest, EncryptRequest__Output as _kms_v1_EncryptRequest__Output } from '../../kms/v1/EncryptRequest';

export interface BatchEncryptRequest {
  'items'?: (_kms_v1_EncryptRequest)[];
}

export interface BatchEncryptRequest__Output {
  'items': (_kms_v1_EncryptRequest__Output)[];
}
