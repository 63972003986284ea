// Original file: src/proto/kms/v1/key_management_service.proto

import type { BatchReEncryptResult as _kms_v1_BatchReEncryptResult, BatchReEncryptResult__Output as _kms_v1_BatchReEncryptResult__Output } from '../../kms/v1/BatchReEncryptResult';

export interface BatchReEncryptResponse {
  'results'?: (_kms_v1_BatchReEncryptResult)[];
}

export interface BatchReEncryptResponse__Output {
  'results': (_kms_v1_BatchReEncryptResult__Output)[];
}
