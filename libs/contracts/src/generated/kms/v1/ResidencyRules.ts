// Original file: src/proto/kms/v1/key_management_service.proto

import type { ResidencyCrossing as _kms_v1_ResidencyCrossing, ResidencyCrossing__Output as _kms_v1_ResidencyCrossing__Output } from '../../kms/v1/ResidencyCrossing';

export interface ResidencyRules {
  'tenant'?: (string);
  'allowed'?: (_kms_v1_ResidencyCrossing)[];
}

export interface ResidencyRules__Output {
  'tenant': (string);
  'allowed': (_kms_v1_ResidencyCrossing__Output)[];
}
