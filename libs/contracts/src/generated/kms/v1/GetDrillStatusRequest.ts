// Original file: src/proto/kms/v1/key_management_service.proto


export interface GetDrillStatusRequest {
}

export interface GetDrillStatusRequest__Output {
}
