// Original file: src/proto/kms/v1/key_management_service.proto

import type { ProofToken as _kms_v1_ProofToken, ProofToken__Output as _kms_v1_ProofToken__Output } from '../../kms/v1/ProofToken';
import type { Long } from '@grpc/proto-loader';

export interface ProofChain {
  'tenant'?: (string);
  'tokens'?: (_kms_v1_ProofToken)[];
  'next_seq'?: (number | string | Long);
  'last_seq'?: (number | string | Long);
}

export interface ProofChain__Output {
  'tenant': (string);
  'tokens': (_kms_v1_ProofToken__Output)[];
  'next_seq': (string);
  'last_seq': (string);
}
