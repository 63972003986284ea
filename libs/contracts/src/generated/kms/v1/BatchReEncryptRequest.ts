// Original file: src/proto/kms/v1/key_management_service.proto

import type { ReEncryptRequest as _kms_v1_ReEncryptRequest, ReEncryptRequest__Output as _kms_v1_ReEncryptRequest__Output } from '../../kms/v1/ReEncryptRequest';

export interface BatchReEncryptRequest {
  'items'?: (_kms_v1_ReEncryptRequest)[];
}

export interface BatchReEncryptRequest__Output {
  'items': (_kms_v1_ReEncryptRequest__Output)[];
}
