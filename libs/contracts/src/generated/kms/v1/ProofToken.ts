// Original file: src/proto/kms/v1/key_management_service.proto

import type { Long } from '@grpc/proto-loader';

export interface ProofToken {
  'token'?: (string);
  'tenant'?: (string);
  'seq'?: (number | string | Long);
  'kid'?: (string);
  'token_hash'?: (string);
  'prev'?: (string);
}

export interface ProofToken__Output {
  'token': (string);
  'tenant': (string);
  'seq': (string);
  'kid': (string);
  'token_hash': (string);
  'prev': (string);
}
