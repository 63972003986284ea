// Original file: src/proto/kms/v1/key_management_service.proto

import type { Long } from '@grpc/proto-loader';

export interface GetProofChainRequest {
  'tenant'?: (string);
  'from_seq'?: (number | string | Long);
  'page_size'?: (number);
}

export interface GetProofChainRequest__Output {
  'tenant': (string);
  'from_seq': (string);
  'page_size': (number);
}
