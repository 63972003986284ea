// Original file: src/proto/kms/v1/key_management_service.proto

import type { BatchEncryptResult as _kms_v1_BatchEncryptResult, BatchEncryptResult__Output as _kms_v1_BatchEncryptResult__Output } from '../../kms/v1/BatchEncryptResult';

export interface BatchEncryptResponse {
  'results'?: (_kms_v1_BatchEncryptResult)[];
}

export interface BatchEncryptResponse__Output {
  'results': (_kms_v1_BatchEncryptResult__Output)[];
}
