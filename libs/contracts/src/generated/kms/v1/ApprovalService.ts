// Original file: src/proto/kms/v1/key_management_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApprovalDecision as _kms_v1_ApprovalDecision, ApprovalDecision__Output as _kms_v1_ApprovalDecision__Output } from '../../kms/v1/ApprovalDecision';
import type { ApprovalRequest as _kms_v1_ApprovalRequest, ApprovalRequest__Output as _kms_v1_ApprovalRequest__Output } from '../../kms/v1/ApprovalRequest';
import type { ApprovalRequestId as _kms_v1_ApprovalRequestId, ApprovalRequestId__Output as _kms_v1_ApprovalRequestId__Output } from '../../kms/v1/ApprovalRequestId';
import type { ListApprovalRequestsRequest as _kms_v1_ListApprovalRequestsRequest, ListApprovalRequestsRequest__Output as _kms_v1_ListApprovalRequestsRequest__Output } from '../../kms/v1/ListApprovalRequestsRequest';
import type { ListApprovalRequestsResponse as _kms_v1_ListApprovalRequestsResponse, ListApprovalRequestsResponse__Output as _kms_v1_ListApprovalRequestsResponse__Output } from '../../kms/v1/ListApprovalRequestsResponse';

export interface ApprovalServiceClient extends grpc.Client {
  ApproveRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  ApproveRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  ApproveRequest(argument: _kms_v1_ApprovalDecision, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  ApproveRequest(argument: _kms_v1_ApprovalDecision, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  approveRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  approveRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  approveRequest(argument: _kms_v1_ApprovalDecision, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  approveRequest(argument: _kms_v1_ApprovalDecision, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  
  GetApprovalRequest(argument: _kms_v1_ApprovalRequestId, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  GetApprovalRequest(argument: _kms_v1_ApprovalRequestId, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  GetApprovalRequest(argument: _kms_v1_ApprovalRequestId, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  GetApprovalRequest(argument: _kms_v1_ApprovalRequestId, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  getApprovalRequest(argument: _kms_v1_ApprovalRequestId, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  getApprovalRequest(argument: _kms_v1_ApprovalRequestId, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  getApprovalRequest(argument: _kms_v1_ApprovalRequestId, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  getApprovalRequest(argument: _kms_v1_ApprovalRequestId, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  
  ListApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  ListApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  ListApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  ListApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  listApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  listApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  listApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  listApprovalRequests(argument: _kms_v1_ListApprovalRequestsRequest, callback: grpc.requestCallback<_kms_v1_ListApprovalRequestsResponse__Output>): grpc.ClientUnaryCall;
  
  RejectRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  RejectRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  RejectRequest(argument: _kms_v1_ApprovalDecision, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  RejectRequest(argument: _kms_v1_ApprovalDecision, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  rejectRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  rejectRequest(argument: _kms_v1_ApprovalDecision, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  rejectRequest(argument: _kms_v1_ApprovalDecision, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  rejectRequest(argument: _kms_v1_ApprovalDecision, callback: grpc.requestCallback<_kms_v1_ApprovalRequest__Output>): grpc.ClientUnaryCall;
  
}

export interface ApprovalServiceHandlers extends grpc.UntypedServiceImplementation {
  ApproveRequest: grpc.handleUnaryCall<_kms_v1_ApprovalDecision__Output, _kms_v1_ApprovalRequest>;
  
  GetApprovalRequest: grpc.handleUnaryCall<_kms_v1_ApprovalRequestId__Output, _kms_v1_ApprovalRequest>;
  
  ListApprovalRequests: grpc.handleUnaryCall<_kms_v1_ListApprovalRequestsRequest__Output, _kms_v1_ListApprovalRequestsResponse>;
  
  RejectRequest: grpc.handleUnaryCall<_kms_v1_ApprovalDecision__Output, _kms_v1_ApprovalRequest>;
  
}

export interface ApprovalServiceDefinition extends grpc.ServiceDefinition {
  ApproveRequest: MethodDefinition<_kms_v1_ApprovalDecision, _kms_v1_ApprovalRequest, _kms_v1_ApprovalDecision__Output, _kms_v1_ApprovalRequest__Output>
  GetApprovalRequest: MethodDefinition<_kms_v1_ApprovalRequestId, _kms_v1_ApprovalRequest, _kms_v1_ApprovalRequestId__Output, _kms_v1_ApprovalRequest__Output>
  ListApprovalRequests: MethodDefinition<_kms_v1_ListApprovalRequestsRequest, _kms_v1_ListApprovalRequestsResponse, _kms_v1_ListApprovalRequestsRequest__Output, _kms_v1_ListApprovalRequestsResponse__Output>
  RejectRequest: MethodDefinition<_kms_v1_ApprovalDecision, _kms_v1_ApprovalRequest, _kms_v1_ApprovalDecision__Output, _kms_v1_ApprovalRequest__Output>
}
