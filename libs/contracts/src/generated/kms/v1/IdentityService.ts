// Original file: src/proto/kms/v1/key_management_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BindClientCertificateRequest as _kms_v1_BindClientCertificateRequest, BindClientCertificateRequest__Output as _kms_v1_BindClientCertificateRequest__Output } from '../../kms/v1/BindClientCertificateRequest';
import type { ChangeIdentityRolesRequest as _kms_v1_ChangeIdentityRolesRequest, ChangeIdentityRolesRequest__Output as _kms_v1_ChangeIdentityRolesRequest__Output } from '../../kms/v1/ChangeIdentityRolesRequest';
import type { CreateEnrolmentLinkRequest as _kms_v1_CreateEnrolmentLinkRequest, CreateEnrolmentLinkRequest__Output as _kms_v1_CreateEnrolmentLinkRequest__Output } from '../../kms/v1/CreateEnrolmentLinkRequest';
import type { EnrolmentLink as _kms_v1_EnrolmentLink, EnrolmentLink__Output as _kms_v1_EnrolmentLink__Output } from '../../kms/v1/EnrolmentLink';
import type { Identity as _kms_v1_Identity, Identity__Output as _kms_v1_Identity__Output } from '../../kms/v1/Identity';
import type { IdentityCredential as _kms_v1_IdentityCredential, IdentityCredential__Output as _kms_v1_IdentityCredential__Output } from '../../kms/v1/IdentityCredential';
import type { IdentityRequest as _kms_v1_IdentityRequest, IdentityRequest__Output as _kms_v1_IdentityRequest__Output } from '../../kms/v1/IdentityRequest';
import type { IssueTokenRequest as _kms_v1_IssueTokenRequest, IssueTokenRequest__Output as _kms_v1_IssueTokenRequest__Output } from '../../kms/v1/IssueTokenRequest';
import type { IssueTokenResponse as _kms_v1_IssueTokenResponse, IssueTokenResponse__Output as _kms_v1_IssueTokenResponse__Output } from '../../kms/v1/IssueTokenResponse';
import type { ListIdentitiesRequest as _kms_v1_ListIdentitiesRequest, ListIdentitiesRequest__Output as _kms_v1_ListIdentitiesRequest__Output } from '../../kms/v1/ListIdentitiesRequest';
import type { ListIdentitiesResponse as _kms_v1_ListIdentitiesResponse, ListIdentitiesResponse__Output as _kms_v1_ListIdentitiesResponse__Output } from '../../kms/v1/ListIdentitiesResponse';
import type { RegisterIdentityRequest as _kms_v1_RegisterIdentityRequest, RegisterIdentityRequest__Output as _kms_v1_RegisterIdentityRequest__Output } from '../../kms/v1/RegisterIdentityRequest';

export interface IdentityServiceClient extends grpc.Client {
  BindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  BindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  BindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  BindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  bindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  bindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  bindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  bindClientCertificate(argument: _kms_v1_BindClientCertificateRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  
  ChangeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  ChangeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  ChangeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  ChangeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  changeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  changeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  changeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  changeIdentityRoles(argument: _kms_v1_ChangeIdentityRolesRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  
  CreateEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  CreateEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  CreateEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  CreateEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  createEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  createEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  createEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  createEnrolmentLink(argument: _kms_v1_CreateEnrolmentLinkRequest, callback: grpc.requestCallback<_kms_v1_EnrolmentLink__Output>): grpc.ClientUnaryCall;
  
  GetIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  GetIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  GetIdentity(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  GetIdentity(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  getIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  getIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  getIdentity(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  getIdentity(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  
  IssueToken(argument: _kms_v1_IssueTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  IssueToken(argument: _kms_v1_IssueTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  IssueToken(argument: _kms_v1_IssueTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  IssueToken(argument: _kms_v1_IssueTokenRequest, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  issueToken(argument: _kms_v1_IssueTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  issueToken(argument: _kms_v1_IssueTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  issueToken(argument: _kms_v1_IssueTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  issueToken(argument: _kms_v1_IssueTokenRequest, callback: grpc.requestCallback<_kms_v1_IssueTokenResponse__Output>): grpc.ClientUnaryCall;
  
  ListIdentities(argument: _kms_v1_ListIdentitiesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  ListIdentities(argument: _kms_v1_ListIdentitiesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  ListIdentities(argument: _kms_v1_ListIdentitiesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  ListIdentities(argument: _kms_v1_ListIdentitiesRequest, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  listIdentities(argument: _kms_v1_ListIdentitiesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  listIdentities(argument: _kms_v1_ListIdentitiesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  listIdentities(argument: _kms_v1_ListIdentitiesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  listIdentities(argument: _kms_v1_ListIdentitiesRequest, callback: grpc.requestCallback<_kms_v1_ListIdentitiesResponse__Output>): grpc.ClientUnaryCall;
  
  ReEnableIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  ReEnableIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  ReEnableIdentity(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  ReEnableIdentity(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  reEnableIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  reEnableIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  reEnableIdentity(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  reEnableIdentity(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  
  RegisterIdentity(argument: _kms_v1_RegisterIdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  RegisterIdentity(argument: _kms_v1_RegisterIdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  RegisterIdentity(argument: _kms_v1_RegisterIdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  RegisterIdentity(argument: _kms_v1_RegisterIdentityRequest, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  registerIdentity(argument: _kms_v1_RegisterIdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  registerIdentity(argument: _kms_v1_RegisterIdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  registerIdentity(argument: _kms_v1_RegisterIdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  registerIdentity(argument: _kms_v1_RegisterIdentityRequest, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  
  RotateCredential(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  RotateCredential(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  RotateCredential(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  RotateCredential(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  rotateCredential(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  rotateCredential(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  rotateCredential(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  rotateCredential(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_IdentityCredential__Output>): grpc.ClientUnaryCall;
  
  SuspendIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  SuspendIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  SuspendIdentity(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  SuspendIdentity(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  suspendIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  suspendIdentity(argument: _kms_v1_IdentityRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  suspendIdentity(argument: _kms_v1_IdentityRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  suspendIdentity(argument: _kms_v1_IdentityRequest, callback: grpc.requestCallback<_kms_v1_Identity__Output>): grpc.ClientUnaryCall;
  
}

export interface IdentityServiceHandlers extends grpc.UntypedServiceImplementation {
  BindClientCertificate: grpc.handleUnaryCall<_kms_v1_BindClientCertificateRequest__Output, _kms_v1_Identity>;
  
  ChangeIdentityRoles: grpc.handleUnaryCall<_kms_v1_ChangeIdentityRolesRequest__Output, _kms_v1_Identity>;
  
  CreateEnrolmentLink: grpc.handleUnaryCall<_kms_v1_CreateEnrolmentLinkRequest__Output, _kms_v1_EnrolmentLink>;
  
  GetIdentity: grpc.handleUnaryCall<_kms_v1_IdentityRequest__Output, _kms_v1_Identity>;
  
  IssueToken: grpc.handleUnaryCall<_kms_v1_IssueTokenRequest__Output, _kms_v1_IssueTokenResponse>;
  
  ListIdentities: grpc.handleUnaryCall<_kms_v1_ListIdentitiesRequest__Output, _kms_v1_ListIdentitiesResponse>;
  
  ReEnableIdentity: grpc.handleUnaryCall<_kms_v1_IdentityRequest__Output, _kms_v1_Identity>;
  
  RegisterIdentity: grpc.handleUnaryCall<_kms_v1_RegisterIdentityRequest__Output, _kms_v1_IdentityCredential>;
  
  RotateCredential: grpc.handleUnaryCall<_kms_v1_IdentityRequest__Output, _kms_v1_IdentityCredential>;
  
  SuspendIdentity: grpc.handleUnaryCall<_kms_v1_IdentityRequest__Output, _kms_v1_Identity>;
  
}

export interface IdentityServiceDefinition extends grpc.ServiceDefinition {
  BindClientCertificate: MethodDefinition<_kms_v1_BindClientCertificateRequest, _kms_v1_Identity, _kms_v1_BindClientCertificateRequest__Output, _kms_v1_Identity__Output>
  ChangeIdentityRoles: MethodDefinition<_kms_v1_ChangeIdentityRolesRequest, _kms_v1_Identity, _kms_v1_ChangeIdentityRolesRequest__Output, _kms_v1_Identity__Output>
  CreateEnrolmentLink: MethodDefinition<_kms_v1_CreateEnrolmentLinkRequest, _kms_v1_EnrolmentLink, _kms_v1_CreateEnrolmentLinkRequest__Output, _kms_v1_EnrolmentLink__Output>
  GetIdentity: MethodDefinition<_kms_v1_IdentityRequest, _kms_v1_Identity, _kms_v1_IdentityRequest__Output, _kms_v1_Identity__Output>
  IssueToken: MethodDefinition<_kms_v1_IssueTokenRequest, _kms_v1_IssueTokenResponse, _kms_v1_IssueTokenRequest__Output, _kms_v1_IssueTokenResponse__Output>
  ListIdentities: MethodDefinition<_kms_v1_ListIdentitiesRequest, _kms_v1_ListIdentitiesResponse, _kms_v1_ListIdentitiesRequest__Output, _kms_v1_ListIdentitiesResponse__Output>
  ReEnableIdentity: MethodDefinition<_kms_v1_IdentityRequest, _kms_v1_Identity, _kms_v1_IdentityRequest__Output, _kms_v1_Identity__Output>
  RegisterIdentity: MethodDefinition<_kms_v1_RegisterIdentityRequest, _kms_v1_IdentityCredential, _kms_v1_RegisterIdentityRequest__Output, _kms_v1_IdentityCredential__Output>
  RotateCredential: MethodDefinition<_kms_v1_IdentityRequest, _kms_v1_IdentityCredential, _kms_v1_IdentityRequest__Output, _kms_v1_IdentityCredential__Output>
  SuspendIdentity: MethodDefinition<_kms_v1_IdentityRequest, _kms_v1_Identity, _kms_v1_IdentityRequest__Output, _kms_v1_Identity__Output>
}
