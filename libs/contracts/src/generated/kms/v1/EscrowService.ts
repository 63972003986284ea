// Original file: src/proto/kms/v1/key_management_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CompleteEscrowReconstructionRequest as _kms_v1_CompleteEscrowReconstructionRequest, CompleteEscrowReconstructionRequest__Output as _kms_v1_CompleteEscrowReconstructionRequest__Output } from '../../kms/v1/CompleteEscrowReconstructionRequest';
import type { CounterSignEscrowTranscriptRequest as _kms_v1_CounterSignEscrowTranscriptRequest, CounterSignEscrowTranscriptRequest__Output as _kms_v1_CounterSignEscrowTranscriptRequest__Output } from '../../kms/v1/CounterSignEscrowTranscriptRequest';
import type { DeclareEscrowPackageDestroyedRequest as _kms_v1_DeclareEscrowPackageDestroyedRequest, DeclareEscrowPackageDestroyedRequest__Output as _kms_v1_DeclareEscrowPackageDestroyedRequest__Output } from '../../kms/v1/DeclareEscrowPackageDestroyedRequest';
import type { EnrolEscrowCustodianRequest as _kms_v1_EnrolEscrowCustodianRequest, EnrolEscrowCustodianRequest__Output as _kms_v1_EnrolEscrowCustodianRequest__Output } from '../../kms/v1/EnrolEscrowCustodianRequest';
import type { EscrowCustodian as _kms_v1_EscrowCustodian, EscrowCustodian__Output as _kms_v1_EscrowCustodian__Output } from '../../kms/v1/EscrowCustodian';
import type { EscrowPolicy as _kms_v1_EscrowPolicy, EscrowPolicy__Output as _kms_v1_EscrowPolicy__Output } from '../../kms/v1/EscrowPolicy';
import type { EscrowReconstruction as _kms_v1_EscrowReconstruction, EscrowReconstruction__Output as _kms_v1_EscrowReconstruction__Output } from '../../kms/v1/EscrowReconstruction';
import type { EscrowReconstructionTranscript as _kms_v1_EscrowReconstructionTranscript, EscrowReconstructionTranscript__Output as _kms_v1_EscrowReconstructionTranscript__Output } from '../../kms/v1/EscrowReconstructionTranscript';
import type { EscrowSeal as _kms_v1_EscrowSeal, EscrowSeal__Output as _kms_v1_EscrowSeal__Output } from '../../kms/v1/EscrowSeal';
import type { EscrowSealedPackage as _kms_v1_EscrowSealedPackage, EscrowSealedPackage__Output as _kms_v1_EscrowSealedPackage__Output } from '../../kms/v1/EscrowSealedPackage';
import type { EscrowShareAccepted as _kms_v1_EscrowShareAccepted, EscrowShareAccepted__Output as _kms_v1_EscrowShareAccepted__Output } from '../../kms/v1/EscrowShareAccepted';
import type { EscrowStatus as _kms_v1_EscrowStatus, EscrowStatus__Output as _kms_v1_EscrowStatus__Output } from '../../kms/v1/EscrowStatus';
import type { EscrowVersionRequest as _kms_v1_EscrowVersionRequest, EscrowVersionRequest__Output as _kms_v1_EscrowVersionRequest__Output } from '../../kms/v1/EscrowVersionRequest';
import type { OpenEscrowReconstructionRequest as _kms_v1_OpenEscrowReconstructionRequest, OpenEscrowReconstructionRequest__Output as _kms_v1_OpenEscrowReconstructionRequest__Output } from '../../kms/v1/OpenEscrowReconstructionRequest';
import type { SetEscrowPolicyRequest as _kms_v1_SetEscrowPolicyRequest, SetEscrowPolicyRequest__Output as _kms_v1_SetEscrowPolicyRequest__Output } from '../../kms/v1/SetEscrowPolicyRequest';
import type { SubmitEscrowShareRequest as _kms_v1_SubmitEscrowShareRequest, SubmitEscrowShareRequest__Output as _kms_v1_SubmitEscrowShareRequest__Output } from '../../kms/v1/SubmitEscrowShareRequest';

export interface EscrowServiceClient extends grpc.Client {
  CompleteEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  CompleteEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  CompleteEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  CompleteEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  completeEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  completeEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  completeEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  completeEscrowReconstruction(argument: _kms_v1_CompleteEscrowReconstructionRequest, callback: grpc.requestCallback<_kms_v1_EscrowReconstructionTranscript__Output>): grpc.ClientUnaryCall;
  
  CounterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  CounterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  CounterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  CounterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  counterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  counterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  counterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  counterSignEscrowTranscript(argument: _kms_v1_CounterSignEscrowTranscriptRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  
  DeclareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  DeclareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  DeclareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  DeclareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  declareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  declareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  declareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  declareEscrowPackageDestroyed(argument: _kms_v1_DeclareEscrowPackageDestroyedRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  
  EnrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  EnrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  EnrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  EnrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  enrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  enrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  enrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  enrolEscrowCustodian(argument: _kms_v1_EnrolEscrowCustodianRequest, callback: grpc.requestCallback<_kms_v1_EscrowCustodian__Output>): grpc.ClientUnaryCall;
  
  GetEscrowPackage(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  GetEscrowPackage(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  GetEscrowPackage(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  GetEscrowPackage(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  getEscrowPackage(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  getEscrowPackage(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  getEscrowPackage(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  getEscrowPackage(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowSealedPackage__Output>): grpc.ClientUnaryCall;
  
  GetEscrowStatus(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  GetEscrowStatus(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  GetEscrowStatus(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  GetEscrowStatus(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  getEscrowStatus(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  getEscrowStatus(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  getEscrowStatus(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  getEscrowStatus(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  
  OpenEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  OpenEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  OpenEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  OpenEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  openEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  openEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  openEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  openEscrowReconstruction(argument: _kms_v1_OpenEscrowReconstructionRequest, callback: grpc.requestCallback<_kms_v1_EscrowReconstruction__Output>): grpc.ClientUnaryCall;
  
  SealEscrow(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  SealEscrow(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  SealEscrow(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  SealEscrow(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  sealEscrow(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  sealEscrow(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  sealEscrow(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  sealEscrow(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowSeal__Output>): grpc.ClientUnaryCall;
  
  SetEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  SetEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  SetEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  SetEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  setEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  setEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  setEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  setEscrowPolicy(argument: _kms_v1_SetEscrowPolicyRequest, callback: grpc.requestCallback<_kms_v1_EscrowPolicy__Output>): grpc.ClientUnaryCall;
  
  SettleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  SettleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  SettleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  SettleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  settleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  settleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  settleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  settleEscrowDeclarations(argument: _kms_v1_EscrowVersionRequest, callback: grpc.requestCallback<_kms_v1_EscrowStatus__Output>): grpc.ClientUnaryCall;
  
  SubmitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  SubmitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  SubmitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  SubmitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  submitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  submitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  submitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  submitEscrowShare(argument: _kms_v1_SubmitEscrowShareRequest, callback: grpc.requestCallback<_kms_v1_EscrowShareAccepted__Output>): grpc.ClientUnaryCall;
  
}

export interface EscrowServiceHandlers extends grpc.UntypedServiceImplementation {
  CompleteEscrowReconstruction: grpc.handleUnaryCall<_kms_v1_CompleteEscrowReconstructionRequest__Output, _kms_v1_EscrowReconstructionTranscript>;
  
  CounterSignEscrowTranscript: grpc.handleUnaryCall<_kms_v1_CounterSignEscrowTranscriptRequest__Output, _kms_v1_EscrowStatus>;
  
  DeclareEscrowPackageDestroyed: grpc.handleUnaryCall<_kms_v1_DeclareEscrowPackageDestroyedRequest__Output, _kms_v1_EscrowStatus>;
  
  EnrolEscrowCustodian: grpc.handleUnaryCall<_kms_v1_EnrolEscrowCustodianRequest__Output, _kms_v1_EscrowCustodian>;
  
  GetEscrowPackage: grpc.handleUnaryCall<_kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowSealedPackage>;
  
  GetEscrowStatus: grpc.handleUnaryCall<_kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowStatus>;
  
  OpenEscrowReconstruction: grpc.handleUnaryCall<_kms_v1_OpenEscrowReconstructionRequest__Output, _kms_v1_EscrowReconstruction>;
  
  SealEscrow: grpc.handleUnaryCall<_kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowSeal>;
  
  SetEscrowPolicy: grpc.handleUnaryCall<_kms_v1_SetEscrowPolicyRequest__Output, _kms_v1_EscrowPolicy>;
  
  SettleEscrowDeclarations: grpc.handleUnaryCall<_kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowStatus>;
  
  SubmitEscrowShare: grpc.handleUnaryCall<_kms_v1_SubmitEscrowShareRequest__Output, _kms_v1_EscrowShareAccepted>;
  
}

export interface EscrowServiceDefinition extends grpc.ServiceDefinition {
  CompleteEscrowReconstruction: MethodDefinition<_kms_v1_CompleteEscrowReconstructionRequest, _kms_v1_EscrowReconstructionTranscript, _kms_v1_CompleteEscrowReconstructionRequest__Output, _kms_v1_EscrowReconstructionTranscript__Output>
  CounterSignEscrowTranscript: MethodDefinition<_kms_v1_CounterSignEscrowTranscriptRequest, _kms_v1_EscrowStatus, _kms_v1_CounterSignEscrowTranscriptRequest__Output, _kms_v1_EscrowStatus__Output>
  DeclareEscrowPackageDestroyed: MethodDefinition<_kms_v1_DeclareEscrowPackageDestroyedRequest, _kms_v1_EscrowStatus, _kms_v1_DeclareEscrowPackageDestroyedRequest__Output, _kms_v1_EscrowStatus__Output>
  EnrolEscrowCustodian: MethodDefinition<_kms_v1_EnrolEscrowCustodianRequest, _kms_v1_EscrowCustodian, _kms_v1_EnrolEscrowCustodianRequest__Output, _kms_v1_EscrowCustodian__Output>
  GetEscrowPackage: MethodDefinition<_kms_v1_EscrowVersionRequest, _kms_v1_EscrowSealedPackage, _kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowSealedPackage__Output>
  GetEscrowStatus: MethodDefinition<_kms_v1_EscrowVersionRequest, _kms_v1_EscrowStatus, _kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowStatus__Output>
  OpenEscrowReconstruction: MethodDefinition<_kms_v1_OpenEscrowReconstructionRequest, _kms_v1_EscrowReconstruction, _kms_v1_OpenEscrowReconstructionRequest__Output, _kms_v1_EscrowReconstruction__Output>
  SealEscrow: MethodDefinition<_kms_v1_EscrowVersionRequest, _kms_v1_EscrowSeal, _kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowSeal__Output>
  SetEscrowPolicy: MethodDefinition<_kms_v1_SetEscrowPolicyRequest, _kms_v1_EscrowPolicy, _kms_v1_SetEscrowPolicyRequest__Output, _kms_v1_EscrowPolicy__Output>
  SettleEscrowDeclarations: MethodDefinition<_kms_v1_EscrowVersionRequest, _kms_v1_EscrowStatus, _kms_v1_EscrowVersionRequest__Output, _kms_v1_EscrowStatus__Output>
  SubmitEscrowShare: MethodDefinition<_kms_v1_SubmitEscrowShareRequest, _kms_v1_EscrowShareAccepted, _kms_v1_SubmitEscrowShareRequest__Output, _kms_v1_EscrowShareAccepted__Output>
}
