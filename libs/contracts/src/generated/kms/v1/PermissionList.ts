// Original file: src/proto/kms/v1/key_management_service.proto


export interface PermissionList {
  'permissions'?: (string)[];
}

export interface PermissionList__Output {
  'permissions': (string)[];
}
