// Original file: src/proto/kms/v1/key_management_service.proto


export interface ListIdentitiesRequest {
}

export interface ListIdentitiesRequest__Output {
}
