// Original file: src/proto/kms/v1/key_management_service.proto

import type { DecryptRequest as _kms_v1_DecryptRequest, DecryptRequest__Output as _kms_v1_DecryptRequest__Output } from '../../kms/v1/DecryptRequest';

export interface BatchDecryptRequest {
  'items'?: (_kms_v1_DecryptRequest)[];
}

export interface BatchDecryptRequest__Output {
  'items': (_kms_v1_DecryptRequest__Output)[];
}
