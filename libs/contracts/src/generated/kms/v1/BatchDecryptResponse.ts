// Original file: src/proto/kms/v1/key_management_service.proto

import type { BatchDecryptResult as _kms_v1_BatchDecryptResult, BatchDecryptResult__Output as _kms_v1_BatchDecryptResult__Output } from '../../kms/v1/BatchDecryptResult';

export interface BatchDecryptResponse {
  'results'?: (_kms_v1_BatchDecryptResult)[];
}

export interface BatchDecryptResponse__Output {
  'results': (_kms_v1_BatchDecryptResult__Output)[];
}
