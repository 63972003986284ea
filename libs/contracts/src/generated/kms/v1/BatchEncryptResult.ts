// Original file: src/proto/kms/v1/key_management_service.proto

import type { EncryptResponse as _kms_v1_EncryptResponse, EncryptResponse__Output as _kms_v1_EncryptResponse__Output } from '../../kms/v1/EncryptResponse';
import type { ItemError as _kms_v1_ItemError, ItemError__Output as _kms_v1_ItemError__Output } from '../../kms/v1/ItemError';

export interface BatchEncryptResult {
  'response'?: (_kms_v1_EncryptResponse | null);
  'error'?: (_kms_v1_ItemError | null);
  'result'?: "response"|"error";
}

export interface BatchEncryptResult__Output {
  'response'?: (_kms_v1_EncryptResponse__Output | null);
  'error'?: (_kms_v1_ItemError__Output | null);
  'result'?: "response"|"error";
}
