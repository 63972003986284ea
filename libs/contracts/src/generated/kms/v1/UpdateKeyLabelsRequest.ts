// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface UpdateKeyLabelsRequest {
  'key_id'?: (string);
  'labels'?: ({[key: string]: string});
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface UpdateKeyLabelsRequest__Output {
  'key_id': (string);
  'labels': ({[key: string]: string});
  'context': (_kms_v1_ChangeContext__Output | null);
}
