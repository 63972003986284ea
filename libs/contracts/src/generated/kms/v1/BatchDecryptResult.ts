// Original file: src/proto/kms/v1/key_management_service.proto

import type { DecryptResponse as _kms_v1_DecryptResponse, DecryptResponse__Output as _kms_v1_DecryptResponse__Output } from '../../kms/v1/DecryptResponse';
import type { ItemError as _kms_v1_ItemError, ItemError__Output as _kms_v1_ItemError__Output } from '../../kms/v1/ItemError';

export interface BatchDecryptResult {
  'response'?: (_kms_v1_DecryptResponse | null);
  'error'?: (_kms_v1_ItemError | null);
  'result'?: "response"|"error";
}

export interface BatchDecryptResult__Output {
  'response'?: (_kms_v1_DecryptResponse__Output | null);
  'error'?: (_kms_v1_ItemError__Output | null);
  'result'?: "response"|"error";
}
