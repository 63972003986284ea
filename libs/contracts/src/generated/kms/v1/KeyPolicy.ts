// Original file: src/proto/kms/v1/key_management_service.proto

import type { PermissionList as _kms_v1_PermissionList, PermissionList__Output as _kms_v1_PermissionList__Output } from '../../kms/v1/PermissionList';

export interface KeyPolicy {
  'grants'?: ({[key: string]: _kms_v1_PermissionList});
}

export interface KeyPolicy__Output {
  'grants': ({[key: string]: _kms_v1_PermissionList__Output});
}
