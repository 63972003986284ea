// Original file: src/proto/kms/v1/key_management_service.proto

import type { ReEncryptResponse as _kms_v1_ReEncryptResponse, ReEncryptResponse__Output as _kms_v1_ReEncryptResponse__Output } from '../../kms/v1/ReEncryptResponse';
import type { ItemError as _kms_v1_ItemError, ItemError__Output as _kms_v1_ItemError__Output } from '../../kms/v1/ItemError';

export interface BatchReEncryptResult {
  'response'?: (_kms_v1_ReEncryptResponse | null);
  'error'?: (_kms_v1_ItemError | null);
  'result'?: "response"|"error";
}

export interface BatchReEncryptResult__Output {
  'response'?: (_kms_v1_ReEncryptResponse__Output | null);
  'error'?: (_kms_v1_ItemError__Output | null);
  'result'?: "response"|"error";
}
