import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ApprovalDecision as _kms_v1_ApprovalDecision, ApprovalDecision__Output as _kms_v1_ApprovalDecision__Output } from './kms/v1/ApprovalDecision';
import type { ApprovalRequest as _kms_v1_ApprovalRequest, ApprovalRequest__Output as _kms_v1_ApprovalRequest__Output } from './kms/v1/ApprovalRequest';
import type { ApprovalRequestId as _kms_v1_ApprovalRequestId, ApprovalRequestId__Output as _kms_v1_ApprovalRequestId__Output } from './kms/v1/ApprovalRequestId';
import type { ApprovalServiceClient as _kms_v1_ApprovalServiceClient, ApprovalServiceDefinition as _kms_v1_ApprovalServiceDefinition } from './kms/v1/ApprovalService';
import type { AsymmetricDecryptRequest as _kms_v1_AsymmetricDecryptRequest, AsymmetricDecryptRequest__Output as _kms_v1_AsymmetricDecryptRequest__Output } from './kms/v1/AsymmetricDecryptRequest';
import type { AsymmetricDecryptResponse as _kms_v1_AsymmetricDecryptResponse, AsymmetricDecryptResponse__Output as _kms_v1_AsymmetricDecryptResponse__Output } from './kms/v1/AsymmetricDecryptResponse';
import type { BatchDecryptRequest as _kms_v1_BatchDecryptRequest, BatchDecryptRequest__Output as _kms_v1_BatchDecryptRequest__Output } from './kms/v1/BatchDecryptRequest';
import type { BatchDecryptResponse as _kms_v1_BatchDecryptResponse, BatchDecryptResponse__Output as _kms_v1_BatchDecryptResponse__Output } from './kms/v1/BatchDecryptResponse';
import type { BatchDecryptResult as _kms_v1_BatchDecryptResult, BatchDecryptResult__Output as _kms_v1_BatchDecryptResult__Output } from './kms/v1/BatchDecryptResult';
import type { BatchEncryptRequest as _kms_v1_BatchEncryptRequest, BatchEncryptRequest__Output as _kms_v1_BatchEncryptRequest__Output } from './kms/v1/BatchEncryptRequest';
import type { BatchEncryptResponse as _kms_v1_BatchEncryptResponse, BatchEncryptResponse__Output as _kms_v1_BatchEncryptResponse__Output } from './kms/v1/BatchEncryptResponse';
import type { BatchEncryptResult as _kms_v1_BatchEncryptResult, BatchEncryptResult__Output as _kms_v1_BatchEncryptResult__Output } from './kms/v1/BatchEncryptResult';
import type { BatchReEncryptRequest as _kms_v1_BatchReEncryptRequest, BatchReEncryptRequest__Output as _kms_v1_BatchReEncryptRequest__Output } from './kms/v1/BatchReEncryptRequest';
import type { BatchReEncryptResponse as _kms_v1_BatchReEncryptResponse, BatchReEncryptResponse__Output as _kms_v1_BatchReEncryptResponse__Output } from './kms/v1/BatchReEncryptResponse';
import type { BatchReEncryptResult as _kms_v1_BatchReEncryptResult, BatchReEncryptResult__Output as _kms_v1_BatchReEncryptResult__Output } from './kms/v1/BatchReEncryptResult';
import type { BindClientCertificateRequest as _kms_v1_BindClientCertificateRequest, BindClientCertificateRequest__Output as _kms_v1_BindClientCertificateRequest__Output } from './kms/v1/BindClientCertificateRequest';
import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from './kms/v1/ChangeContext';
import type { ChangeIdentityRolesRequest as _kms_v1_ChangeIdentityRolesRequest, ChangeIdentityRolesRequest__Output as _kms_v1_ChangeIdentityRolesRequest__Output } from './kms/v1/ChangeIdentityRolesRequest';
import type { CloseDrillFollowUpRequest as _kms_v1_CloseDrillFollowUpRequest, CloseDrillFollowUpRequest__Output as _kms_v1_CloseDrillFollowUpRequest__Output } from './kms/v1/CloseDrillFollowUpRequest';
import type { CompleteEscrowReconstructionRequest as _kms_v1_CompleteEscrowReconstructionRequest, CompleteEscrowReconstructionRequest__Output as _kms_v1_CompleteEscrowReconstructionRequest__Output } from './kms/v1/CompleteEscrowReconstructionRequest';
import type { CounterSignEscrowTranscriptRequest as _kms_v1_CounterSignEscrowTranscriptRequest, CounterSignEscrowTranscriptRequest__Output as _kms_v1_CounterSignEscrowTranscriptRequest__Output } from './kms/v1/CounterSignEscrowTranscriptRequest';
import type { CreateEnrolmentLinkRequest as _kms_v1_CreateEnrolmentLinkRequest, CreateEnrolmentLinkRequest__Output as _kms_v1_CreateEnrolmentLinkRequest__Output } from './kms/v1/CreateEnrolmentLinkRequest';
import type { CreateKeyRequest as _kms_v1_CreateKeyRequest, CreateKeyRequest__Output as _kms_v1_CreateKeyRequest__Output } from './kms/v1/CreateKeyRequest';
import type { DecapsulateRequest as _kms_v1_DecapsulateRequest, DecapsulateRequest__Output as _kms_v1_DecapsulateRequest__Output } from './kms/v1/DecapsulateRequest';
import type { DecapsulateResponse as _kms_v1_DecapsulateResponse, DecapsulateResponse__Output as _kms_v1_DecapsulateResponse__Output } from './kms/v1/DecapsulateResponse';
import type { DeclareEscrowPackageDestroyedRequest as _kms_v1_DeclareEscrowPackageDestroyedRequest, DeclareEscrowPackageDestroyedRequest__Output as _kms_v1_DeclareEscrowPackageDestroyedRequest__Output } from './kms/v1/DeclareEscrowPackageDestroyedRequest';
import type { DecryptRequest as _kms_v1_DecryptRequest, DecryptRequest__Output as _kms_v1_DecryptRequest__Output } from './kms/v1/DecryptRequest';
import type { DecryptResponse as _kms_v1_DecryptResponse, DecryptResponse__Output as _kms_v1_DecryptResponse__Output } from './kms/v1/DecryptResponse';
import type { Dependent as _kms_v1_Dependent, Dependent__Output as _kms_v1_Dependent__Output } from './kms/v1/Dependent';
import type { DependentRequest as _kms_v1_DependentRequest, DependentRequest__Output as _kms_v1_DependentRequest__Output } from './kms/v1/DependentRequest';
import type { Drill as _kms_v1_Drill, Drill__Output as _kms_v1_Drill__Output } from './kms/v1/Drill';
import type { DrillAlert as _kms_v1_DrillAlert, DrillAlert__Output as _kms_v1_DrillAlert__Output } from './kms/v1/DrillAlert';
import type { DrillAlerts as _kms_v1_DrillAlerts, DrillAlerts__Output as _kms_v1_DrillAlerts__Output } from './kms/v1/DrillAlerts';
import type { DrillFollowUp as _kms_v1_DrillFollowUp, DrillFollowUp__Output as _kms_v1_DrillFollowUp__Output } from './kms/v1/DrillFollowUp';
import type { DrillFollowUpInput as _kms_v1_DrillFollowUpInput, DrillFollowUpInput__Output as _kms_v1_DrillFollowUpInput__Output } from './kms/v1/DrillFollowUpInput';
import type { DrillStatus as _kms_v1_DrillStatus, DrillStatus__Output as _kms_v1_DrillStatus__Output } from './kms/v1/DrillStatus';
import type { EncryptRequest as _kms_v1_EncryptRequest, EncryptRequest__Output as _kms_v1_EncryptRequest__Output } from './kms/v1/EncryptRequest';
import type { EncryptResponse as _kms_v1_EncryptResponse, EncryptResponse__Output as _kms_v1_EncryptResponse__Output } from './kms/v1/EncryptResponse';
import type { EnrolEscrowCustodianRequest as _kms_v1_EnrolEscrowCustodianRequest, EnrolEscrowCustodianRequest__Output as _kms_v1_EnrolEscrowCustodianRequest__Output } from './kms/v1/EnrolEscrowCustodianRequest';
import type { EnrolmentLink as _kms_v1_EnrolmentLink, EnrolmentLink__Output as _kms_v1_EnrolmentLink__Output } from './kms/v1/EnrolmentLink';
import type { EscrowCustodian as _kms_v1_EscrowCustodian, EscrowCustodian__Output as _kms_v1_EscrowCustodian__Output } from './kms/v1/EscrowCustodian';
import type { EscrowPolicy as _kms_v1_EscrowPolicy, EscrowPolicy__Output as _kms_v1_EscrowPolicy__Output } from './kms/v1/EscrowPolicy';
import type { EscrowReconstruction as _kms_v1_EscrowReconstruction, EscrowReconstruction__Output as _kms_v1_EscrowReconstruction__Output } from './kms/v1/EscrowReconstruction';
import type { EscrowReconstructionTranscript as _kms_v1_EscrowReconstructionTranscript, EscrowReconstructionTranscript__Output as _kms_v1_EscrowReconstructionTranscript__Output } from './kms/v1/EscrowReconstructionTranscript';
import type { EscrowSeal as _kms_v1_EscrowSeal, EscrowSeal__Output as _kms_v1_EscrowSeal__Output } from './kms/v1/EscrowSeal';
import type { EscrowSealedPackage as _kms_v1_EscrowSealedPackage, EscrowSealedPackage__Output as _kms_v1_EscrowSealedPackage__Output } from './kms/v1/EscrowSealedPackage';
import type { EscrowServiceClient as _kms_v1_EscrowServiceClient, EscrowServiceDefinition as _kms_v1_EscrowServiceDefinition } from './kms/v1/EscrowService';
import type { EscrowShareAccepted as _kms_v1_EscrowShareAccepted, EscrowShareAccepted__Output as _kms_v1_EscrowShareAccepted__Output } from './kms/v1/EscrowShareAccepted';
import type { EscrowStatus as _kms_v1_EscrowStatus, EscrowStatus__Output as _kms_v1_EscrowStatus__Output } from './kms/v1/EscrowStatus';
import type { EscrowVersionRequest as _kms_v1_EscrowVersionRequest, EscrowVersionRequest__Output as _kms_v1_EscrowVersionRequest__Output } from './kms/v1/EscrowVersionRequest';
import type { GenerateDataKeyPairRequest as _kms_v1_GenerateDataKeyPairRequest, GenerateDataKeyPairRequest__Output as _kms_v1_GenerateDataKeyPairRequest__Output } from './kms/v1/GenerateDataKeyPairRequest';
import type { GenerateDataKeyPairResponse as _kms_v1_GenerateDataKeyPairResponse, GenerateDataKeyPairResponse__Output as _kms_v1_GenerateDataKeyPairResponse__Output } from './kms/v1/GenerateDataKeyPairResponse';
import type { GenerateDataKeyRequest as _kms_v1_GenerateDataKeyRequest, GenerateDataKeyRequest__Output as _kms_v1_GenerateDataKeyRequest__Output } from './kms/v1/GenerateDataKeyRequest';
import type { GenerateDataKeyResponse as _kms_v1_GenerateDataKeyResponse, GenerateDataKeyResponse__Output as _kms_v1_GenerateDataKeyResponse__Output } from './kms/v1/GenerateDataKeyResponse';
import type { GenerateMacRequest as _kms_v1_GenerateMacRequest, GenerateMacRequest__Output as _kms_v1_GenerateMacRequest__Output } from './kms/v1/GenerateMacRequest';
import type { GenerateMacResponse as _kms_v1_GenerateMacResponse, GenerateMacResponse__Output as _kms_v1_GenerateMacResponse__Output } from './kms/v1/GenerateMacResponse';
import type { GenerateRandomRequest as _kms_v1_GenerateRandomRequest, GenerateRandomRequest__Output as _kms_v1_GenerateRandomRequest__Output } from './kms/v1/GenerateRandomRequest';
import type { GenerateRandomResponse as _kms_v1_GenerateRandomResponse, GenerateRandomResponse__Output as _kms_v1_GenerateRandomResponse__Output } from './kms/v1/GenerateRandomResponse';
import type { GetDrillStatusRequest as _kms_v1_GetDrillStatusRequest, GetDrillStatusRequest__Output as _kms_v1_GetDrillStatusRequest__Output } from './kms/v1/GetDrillStatusRequest';
import type { GetImportParametersRequest as _kms_v1_GetImportParametersRequest, GetImportParametersRequest__Output as _kms_v1_GetImportParametersRequest__Output } from './kms/v1/GetImportParametersRequest';
import type { GetKeyOriginStatementRequest as _kms_v1_GetKeyOriginStatementRequest, GetKeyOriginStatementRequest__Output as _kms_v1_GetKeyOriginStatementRequest__Output } from './kms/v1/GetKeyOriginStatementRequest';
import type { GetKeyRequest as _kms_v1_GetKeyRequest, GetKeyRequest__Output as _kms_v1_GetKeyRequest__Output } from './kms/v1/GetKeyRequest';
import type { GetProofChainRequest as _kms_v1_GetProofChainRequest, GetProofChainRequest__Output as _kms_v1_GetProofChainRequest__Output } from './kms/v1/GetProofChainRequest';
import type { GetPublicKeyRequest as _kms_v1_GetPublicKeyRequest, GetPublicKeyRequest__Output as _kms_v1_GetPublicKeyRequest__Output } from './kms/v1/GetPublicKeyRequest';
import type { GetResidencyRulesRequest as _kms_v1_GetResidencyRulesRequest, GetResidencyRulesRequest__Output as _kms_v1_GetResidencyRulesRequest__Output } from './kms/v1/GetResidencyRulesRequest';
import type { Identity as _kms_v1_Identity, Identity__Output as _kms_v1_Identity__Output } from './kms/v1/Identity';
import type { IdentityCredential as _kms_v1_IdentityCredential, IdentityCredential__Output as _kms_v1_IdentityCredential__Output } from './kms/v1/IdentityCredential';
import type { IdentityRequest as _kms_v1_IdentityRequest, IdentityRequest__Output as _kms_v1_IdentityRequest__Output } from './kms/v1/IdentityRequest';
import type { IdentityServiceClient as _kms_v1_IdentityServiceClient, IdentityServiceDefinition as _kms_v1_IdentityServiceDefinition } from './kms/v1/IdentityService';
import type { ImportKeyVersionRequest as _kms_v1_ImportKeyVersionRequest, ImportKeyVersionRequest__Output as _kms_v1_ImportKeyVersionRequest__Output } from './kms/v1/ImportKeyVersionRequest';
import type { ImportParameters as _kms_v1_ImportParameters, ImportParameters__Output as _kms_v1_ImportParameters__Output } from './kms/v1/ImportParameters';
import type { IssueProofTokenRequest as _kms_v1_IssueProofTokenRequest, IssueProofTokenRequest__Output as _kms_v1_IssueProofTokenRequest__Output } from './kms/v1/IssueProofTokenRequest';
import type { IssueTokenRequest as _kms_v1_IssueTokenRequest, IssueTokenRequest__Output as _kms_v1_IssueTokenRequest__Output } from './kms/v1/IssueTokenRequest';
import type { IssueTokenResponse as _kms_v1_IssueTokenResponse, IssueTokenResponse__Output as _kms_v1_IssueTokenResponse__Output } from './kms/v1/IssueTokenResponse';
import type { ItemError as _kms_v1_ItemError, ItemError__Output as _kms_v1_ItemError__Output } from './kms/v1/ItemError';
import type { Key as _kms_v1_Key, Key__Output as _kms_v1_Key__Output } from './kms/v1/Key';
import type { KeyManagementServiceClient as _kms_v1_KeyManagementServiceClient, KeyManagementServiceDefinition as _kms_v1_KeyManagementServiceDefinition } from './kms/v1/KeyManagementService';
import type { KeyOriginStatement as _kms_v1_KeyOriginStatement, KeyOriginStatement__Output as _kms_v1_KeyOriginStatement__Output } from './kms/v1/KeyOriginStatement';
import type { KeyPolicy as _kms_v1_KeyPolicy, KeyPolicy__Output as _kms_v1_KeyPolicy__Output } from './kms/v1/KeyPolicy';
import type { KeyVersion as _kms_v1_KeyVersion, KeyVersion__Output as _kms_v1_KeyVersion__Output } from './kms/v1/KeyVersion';
import type { KeyVersionRequest as _kms_v1_KeyVersionRequest, KeyVersionRequest__Output as _kms_v1_KeyVersionRequest__Output } from './kms/v1/KeyVersionRequest';
import type { ListApprovalRequestsRequest as _kms_v1_ListApprovalRequestsRequest, ListApprovalRequestsRequest__Output as _kms_v1_ListApprovalRequestsRequest__Output } from './kms/v1/ListApprovalRequestsRequest';
import type { ListApprovalRequestsResponse as _kms_v1_ListApprovalRequestsResponse, ListApprovalRequestsResponse__Output as _kms_v1_ListApprovalRequestsResponse__Output } from './kms/v1/ListApprovalRequestsResponse';
import type { ListIdentitiesRequest as _kms_v1_ListIdentitiesRequest, ListIdentitiesRequest__Output as _kms_v1_ListIdentitiesRequest__Output } from './kms/v1/ListIdentitiesRequest';
import type { ListIdentitiesResponse as _kms_v1_ListIdentitiesResponse, ListIdentitiesResponse__Output as _kms_v1_ListIdentitiesResponse__Output } from './kms/v1/ListIdentitiesResponse';
import type { ListKeysRequest as _kms_v1_ListKeysRequest, ListKeysRequest__Output as _kms_v1_ListKeysRequest__Output } from './kms/v1/ListKeysRequest';
import type { ListKeysResponse as _kms_v1_ListKeysResponse, ListKeysResponse__Output as _kms_v1_ListKeysResponse__Output } from './kms/v1/ListKeysResponse';
import type { OpenEscrowReconstructionRequest as _kms_v1_OpenEscrowReconstructionRequest, OpenEscrowReconstructionRequest__Output as _kms_v1_OpenEscrowReconstructionRequest__Output } from './kms/v1/OpenEscrowReconstructionRequest';
import type { PermissionList as _kms_v1_PermissionList, PermissionList__Output as _kms_v1_PermissionList__Output } from './kms/v1/PermissionList';
import type { ProofChain as _kms_v1_ProofChain, ProofChain__Output as _kms_v1_ProofChain__Output } from './kms/v1/ProofChain';
import type { ProofToken as _kms_v1_ProofToken, ProofToken__Output as _kms_v1_ProofToken__Output } from './kms/v1/ProofToken';
import type { PublicKey as _kms_v1_PublicKey, PublicKey__Output as _kms_v1_PublicKey__Output } from './kms/v1/PublicKey';
import type { ReEncryptRequest as _kms_v1_ReEncryptRequest, ReEncryptRequest__Output as _kms_v1_ReEncryptRequest__Output } from './kms/v1/ReEncryptRequest';
import type { ReEncryptResponse as _kms_v1_ReEncryptResponse, ReEncryptResponse__Output as _kms_v1_ReEncryptResponse__Output } from './kms/v1/ReEncryptResponse';
import type { RecordDrillRequest as _kms_v1_RecordDrillRequest, RecordDrillRequest__Output as _kms_v1_RecordDrillRequest__Output } from './kms/v1/RecordDrillRequest';
import type { RegisterIdentityRequest as _kms_v1_RegisterIdentityRequest, RegisterIdentityRequest__Output as _kms_v1_RegisterIdentityRequest__Output } from './kms/v1/RegisterIdentityRequest';
import type { ResidencyCrossing as _kms_v1_ResidencyCrossing, ResidencyCrossing__Output as _kms_v1_ResidencyCrossing__Output } from './kms/v1/ResidencyCrossing';
import type { ResidencyRules as _kms_v1_ResidencyRules, ResidencyRules__Output as _kms_v1_ResidencyRules__Output } from './kms/v1/ResidencyRules';
import type { RotateKeyRequest as _kms_v1_RotateKeyRequest, RotateKeyRequest__Output as _kms_v1_RotateKeyRequest__Output } from './kms/v1/RotateKeyRequest';
import type { ScheduleKeyVersionDestructionRequest as _kms_v1_ScheduleKeyVersionDestructionRequest, ScheduleKeyVersionDestructionRequest__Output as _kms_v1_ScheduleKeyVersionDestructionRequest__Output } from './kms/v1/ScheduleKeyVersionDestructionRequest';
import type { SetEscrowPolicyRequest as _kms_v1_SetEscrowPolicyRequest, SetEscrowPolicyRequest__Output as _kms_v1_SetEscrowPolicyRequest__Output } from './kms/v1/SetEscrowPolicyRequest';
import type { SetKeyPolicyRequest as _kms_v1_SetKeyPolicyRequest, SetKeyPolicyRequest__Output as _kms_v1_SetKeyPolicyRequest__Output } from './kms/v1/SetKeyPolicyRequest';
import type { SetMinDecryptionVersionRequest as _kms_v1_SetMinDecryptionVersionRequest, SetMinDecryptionVersionRequest__Output as _kms_v1_SetMinDecryptionVersionRequest__Output } from './kms/v1/SetMinDecryptionVersionRequest';
import type { SetResidencyRuleRequest as _kms_v1_SetResidencyRuleRequest, SetResidencyRuleRequest__Output as _kms_v1_SetResidencyRuleRequest__Output } from './kms/v1/SetResidencyRuleRequest';
import type { SignRequest as _kms_v1_SignRequest, SignRequest__Output as _kms_v1_SignRequest__Output } from './kms/v1/SignRequest';
import type { SignResponse as _kms_v1_SignResponse, SignResponse__Output as _kms_v1_SignResponse__Output } from './kms/v1/SignResponse';
import type { SubmitEscrowShareRequest as _kms_v1_SubmitEscrowShareRequest, SubmitEscrowShareRequest__Output as _kms_v1_SubmitEscrowShareRequest__Output } from './kms/v1/SubmitEscrowShareRequest';
import type { UpdateKeyLabelsRequest as _kms_v1_UpdateKeyLabelsRequest, UpdateKeyLabelsRequest__Output as _kms_v1_UpdateKeyLabelsRequest__Output } from './kms/v1/UpdateKeyLabelsRequest';
import type { UpdateRotationPolicyRequest as _kms_v1_UpdateRotationPolicyRequest, UpdateRotationPolicyRequest__Output as _kms_v1_UpdateRotationPolicyRequest__Output } from './kms/v1/UpdateRotationPolicyRequest';
import type { VerifyMacRequest as _kms_v1_VerifyMacRequest, VerifyMacRequest__Output as _kms_v1_VerifyMacRequest__Output } from './kms/v1/VerifyMacRequest';
import type { VerifyMacResponse as _kms_v1_VerifyMacResponse, VerifyMacResponse__Output as _kms_v1_VerifyMacResponse__Output } from './kms/v1/VerifyMacResponse';
import type { VerifyRequest as _kms_v1_VerifyRequest, VerifyRequest__Output as _kms_v1_VerifyRequest__Output } from './kms/v1/VerifyRequest';
import type { VerifyResponse as _kms_v1_VerifyResponse, VerifyResponse__Output as _kms_v1_VerifyResponse__Output } from './kms/v1/VerifyResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kms: {
    v1: {
      Algorithm: EnumTypeDefinition
      ApprovalDecision: MessageTypeDefinition<_kms_v1_ApprovalDecision, _kms_v1_ApprovalDecision__Output>
      ApprovalRequest: MessageTypeDefinition<_kms_v1_ApprovalRequest, _kms_v1_ApprovalRequest__Output>
      ApprovalRequestId: MessageTypeDefinition<_kms_v1_ApprovalRequestId, _kms_v1_ApprovalRequestId__Output>
      ApprovalService: SubtypeConstructor<typeof grpc.Client, _kms_v1_ApprovalServiceClient> & { service: _kms_v1_ApprovalServiceDefinition }
      AsymmetricDecryptRequest: MessageTypeDefinition<_kms_v1_AsymmetricDecryptRequest, _kms_v1_AsymmetricDecryptRequest__Output>
      AsymmetricDecryptResponse: MessageTypeDefinition<_kms_v1_AsymmetricDecryptResponse, _kms_v1_AsymmetricDecryptResponse__Output>
      BatchDecryptRequest: MessageTypeDefinition<_kms_v1_BatchDecryptRequest, _kms_v1_BatchDecryptRequest__Output>
      BatchDecryptResponse: MessageTypeDefinition<_kms_v1_BatchDecryptResponse, _kms_v1_BatchDecryptResponse__Output>
      BatchDecryptResult: MessageTypeDefinition<_kms_v1_BatchDecryptResult, _kms_v1_BatchDecryptResult__Output>
      BatchEncryptRequest: MessageTypeDefinition<_kms_v1_BatchEncryptRequest, _kms_v1_BatchEncryptRequest__Output>
      BatchEncryptResponse: MessageTypeDefinition<_kms_v1_BatchEncryptResponse, _kms_v1_BatchEncryptResponse__Output>
      BatchEncryptResult: MessageTypeDefinition<_kms_v1_BatchEncryptResult, _kms_v1_BatchEncryptResult__Output>
      BatchReEncryptRequest: MessageTypeDefinition<_kms_v1_BatchReEncryptRequest, _kms_v1_BatchReEncryptRequest__Output>
      BatchReEncryptResponse: MessageTypeDefinition<_kms_v1_BatchReEncryptResponse, _kms_v1_BatchReEncryptResponse__Output>
      BatchReEncryptResult: MessageTypeDefinition<_kms_v1_BatchReEncryptResult, _kms_v1_BatchReEncryptResult__Output>
      BindClientCertificateRequest: MessageTypeDefinition<_kms_v1_BindClientCertificateRequest, _kms_v1_BindClientCertificateRequest__Output>
      ChangeContext: MessageTypeDefinition<_kms_v1_ChangeContext, _kms_v1_ChangeContext__Output>
      ChangeIdentityRolesRequest: MessageTypeDefinition<_kms_v1_ChangeIdentityRolesRequest, _kms_v1_ChangeIdentityRolesRequest__Output>
      CloseDrillFollowUpRequest: MessageTypeDefinition<_kms_v1_CloseDrillFollowUpRequest, _kms_v1_CloseDrillFollowUpRequest__Output>
      CompleteEscrowReconstructionRequest: MessageTypeDefinition<_kms_v1_CompleteEscrowReconstructionRequest, _kms_v1_CompleteEscrowReconstructionRequest__Output>
      CounterSignEscrowTranscriptRequest: MessageTypeDefinition<_kms_v1_CounterSignEscrowTranscriptRequest, _kms_v1_CounterSignEscrowTranscriptRequest__Output>
      CreateEnrolmentLinkRequest: MessageTypeDefinition<_kms_v1_CreateEnrolmentLinkRequest, _kms_v1_CreateEnrolmentLinkRequest__Output>
      CreateKeyRequest: MessageTypeDefinition<_kms_v1_CreateKeyRequest, _kms_v1_CreateKeyRequest__Output>
      DataKeyPairSpec: EnumTypeDefinition
      DecapsulateRequest: MessageTypeDefinition<_kms_v1_DecapsulateRequest, _kms_v1_DecapsulateRequest__Output>
      DecapsulateResponse: MessageTypeDefinition<_kms_v1_DecapsulateResponse, _kms_v1_DecapsulateResponse__Output>
      DeclareEscrowPackageDestroyedRequest: MessageTypeDefinition<_kms_v1_DeclareEscrowPackageDestroyedRequest, _kms_v1_DeclareEscrowPackageDestroyedRequest__Output>
      DecryptRequest: MessageTypeDefinition<_kms_v1_DecryptRequest, _kms_v1_DecryptRequest__Output>
      DecryptResponse: MessageTypeDefinition<_kms_v1_DecryptResponse, _kms_v1_DecryptResponse__Output>
      Dependent: MessageTypeDefinition<_kms_v1_Dependent, _kms_v1_Dependent__Output>
      DependentRequest: MessageTypeDefinition<_kms_v1_DependentRequest, _kms_v1_DependentRequest__Output>
      Drill: MessageTypeDefinition<_kms_v1_Drill, _kms_v1_Drill__Output>
      DrillAlert: MessageTypeDefinition<_kms_v1_DrillAlert, _kms_v1_DrillAlert__Output>
      DrillAlerts: MessageTypeDefinition<_kms_v1_DrillAlerts, _kms_v1_DrillAlerts__Output>
      DrillFollowUp: MessageTypeDefinition<_kms_v1_DrillFollowUp, _kms_v1_DrillFollowUp__Output>
      DrillFollowUpInput: MessageTypeDefinition<_kms_v1_DrillFollowUpInput, _kms_v1_DrillFollowUpInput__Output>
      DrillStatus: MessageTypeDefinition<_kms_v1_DrillStatus, _kms_v1_DrillStatus__Output>
      EncryptRequest: MessageTypeDefinition<_kms_v1_EncryptRequest, _kms_v1_EncryptRequest__Output>
      EncryptResponse: MessageTypeDefinition<_kms_v1_EncryptResponse, _kms_v1_EncryptResponse__Output>
      EnrolEscrowCustodianRequest: MessageTypeDefinition<_kms_v1_EnrolEscrowCustodianRequest, _kms_v1_EnrolEscrowCustodianRequest__Output>
      EnrolmentLink: MessageTypeDefinition<_kms_v1_EnrolmentLink, _kms_v1_EnrolmentLink__Output>
      EscrowCustodian: MessageTypeDefinition<_kms_v1_EscrowCustodian, _kms_v1_EscrowCustodian__Output>
      EscrowPolicy: MessageTypeDefinition<_kms_v1_EscrowPolicy, _kms_v1_EscrowPolicy__Output>
      EscrowReconstruction: MessageTypeDefinition<_kms_v1_EscrowReconstruction, _kms_v1_EscrowReconstruction__Output>
      EscrowReconstructionTranscript: MessageTypeDefinition<_kms_v1_EscrowReconstructionTranscript, _kms_v1_EscrowReconstructionTranscript__Output>
      EscrowSeal: MessageTypeDefinition<_kms_v1_EscrowSeal, _kms_v1_EscrowSeal__Output>
      EscrowSealedPackage: MessageTypeDefinition<_kms_v1_EscrowSealedPackage, _kms_v1_EscrowSealedPackage__Output>
      EscrowService: SubtypeConstructor<typeof grpc.Client, _kms_v1_EscrowServiceClient> & { service: _kms_v1_EscrowServiceDefinition }
      EscrowShareAccepted: MessageTypeDefinition<_kms_v1_EscrowShareAccepted, _kms_v1_EscrowShareAccepted__Output>
      EscrowStatus: MessageTypeDefinition<_kms_v1_EscrowStatus, _kms_v1_EscrowStatus__Output>
      EscrowVersionRequest: MessageTypeDefinition<_kms_v1_EscrowVersionRequest, _kms_v1_EscrowVersionRequest__Output>
      GenerateDataKeyPairRequest: MessageTypeDefinition<_kms_v1_GenerateDataKeyPairRequest, _kms_v1_GenerateDataKeyPairRequest__Output>
      GenerateDataKeyPairResponse: MessageTypeDefinition<_kms_v1_GenerateDataKeyPairResponse, _kms_v1_GenerateDataKeyPairResponse__Output>
      GenerateDataKeyRequest: MessageTypeDefinition<_kms_v1_GenerateDataKeyRequest, _kms_v1_GenerateDataKeyRequest__Output>
      GenerateDataKeyResponse: MessageTypeDefinition<_kms_v1_GenerateDataKeyResponse, _kms_v1_GenerateDataKeyResponse__Output>
      GenerateMacRequest: MessageTypeDefinition<_kms_v1_GenerateMacRequest, _kms_v1_GenerateMacRequest__Output>
      GenerateMacResponse: MessageTypeDefinition<_kms_v1_GenerateMacResponse, _kms_v1_GenerateMacResponse__Output>
      GenerateRandomRequest: MessageTypeDefinition<_kms_v1_GenerateRandomRequest, _kms_v1_GenerateRandomRequest__Output>
      GenerateRandomResponse: MessageTypeDefinition<_kms_v1_GenerateRandomResponse, _kms_v1_GenerateRandomResponse__Output>
      GetDrillStatusRequest: MessageTypeDefinition<_kms_v1_GetDrillStatusRequest, _kms_v1_GetDrillStatusRequest__Output>
      GetImportParametersRequest: MessageTypeDefinition<_kms_v1_GetImportParametersRequest, _kms_v1_GetImportParametersRequest__Output>
      GetKeyOriginStatementRequest: MessageTypeDefinition<_kms_v1_GetKeyOriginStatementRequest, _kms_v1_GetKeyOriginStatementRequest__Output>
      GetKeyRequest: MessageTypeDefinition<_kms_v1_GetKeyRequest, _kms_v1_GetKeyRequest__Output>
      GetProofChainRequest: MessageTypeDefinition<_kms_v1_GetProofChainRequest, _kms_v1_GetProofChainRequest__Output>
      GetPublicKeyRequest: MessageTypeDefinition<_kms_v1_GetPublicKeyRequest, _kms_v1_GetPublicKeyRequest__Output>
      GetResidencyRulesRequest: MessageTypeDefinition<_kms_v1_GetResidencyRulesRequest, _kms_v1_GetResidencyRulesRequest__Output>
      Identity: MessageTypeDefinition<_kms_v1_Identity, _kms_v1_Identity__Output>
      IdentityCredential: MessageTypeDefinition<_kms_v1_IdentityCredential, _kms_v1_IdentityCredential__Output>
      IdentityKind: EnumTypeDefinition
      IdentityRequest: MessageTypeDefinition<_kms_v1_IdentityRequest, _kms_v1_IdentityRequest__Output>
      IdentityService: SubtypeConstructor<typeof grpc.Client, _kms_v1_IdentityServiceClient> & { service: _kms_v1_IdentityServiceDefinition }
      ImportKeyVersionRequest: MessageTypeDefinition<_kms_v1_ImportKeyVersionRequest, _kms_v1_ImportKeyVersionRequest__Output>
      ImportParameters: MessageTypeDefinition<_kms_v1_ImportParameters, _kms_v1_ImportParameters__Output>
      IssueProofTokenRequest: MessageTypeDefinition<_kms_v1_IssueProofTokenRequest, _kms_v1_IssueProofTokenRequest__Output>
      IssueTokenRequest: MessageTypeDefinition<_kms_v1_IssueTokenRequest, _kms_v1_IssueTokenRequest__Output>
      IssueTokenResponse: MessageTypeDefinition<_kms_v1_IssueTokenResponse, _kms_v1_IssueTokenResponse__Output>
      ItemError: MessageTypeDefinition<_kms_v1_ItemError, _kms_v1_ItemError__Output>
      Key: MessageTypeDefinition<_kms_v1_Key, _kms_v1_Key__Output>
      KeyManagementService: SubtypeConstructor<typeof grpc.Client, _kms_v1_KeyManagementServiceClient> & { service: _kms_v1_KeyManagementServiceDefinition }
      KeyOriginStatement: MessageTypeDefinition<_kms_v1_KeyOriginStatement, _kms_v1_KeyOriginStatement__Output>
      KeyPolicy: MessageTypeDefinition<_kms_v1_KeyPolicy, _kms_v1_KeyPolicy__Output>
      KeyPurpose: EnumTypeDefinition
      KeyVersion: MessageTypeDefinition<_kms_v1_KeyVersion, _kms_v1_KeyVersion__Output>
      KeyVersionRequest: MessageTypeDefinition<_kms_v1_KeyVersionRequest, _kms_v1_KeyVersionRequest__Output>
      KeyVersionState: EnumTypeDefinition
      ListApprovalRequestsRequest: MessageTypeDefinition<_kms_v1_ListApprovalRequestsRequest, _kms_v1_ListApprovalRequestsRequest__Output>
      ListApprovalRequestsResponse: MessageTypeDefinition<_kms_v1_ListApprovalRequestsResponse, _kms_v1_ListApprovalRequestsResponse__Output>
      ListIdentitiesRequest: MessageTypeDefinition<_kms_v1_ListIdentitiesRequest, _kms_v1_ListIdentitiesRequest__Output>
      ListIdentitiesResponse: MessageTypeDefinition<_kms_v1_ListIdentitiesResponse, _kms_v1_ListIdentitiesResponse__Output>
      ListKeysRequest: MessageTypeDefinition<_kms_v1_ListKeysRequest, _kms_v1_ListKeysRequest__Output>
      ListKeysResponse: MessageTypeDefinition<_kms_v1_ListKeysResponse, _kms_v1_ListKeysResponse__Output>
      OpenEscrowReconstructionRequest: MessageTypeDefinition<_kms_v1_OpenEscrowReconstructionRequest, _kms_v1_OpenEscrowReconstructionRequest__Output>
      PermissionList: MessageTypeDefinition<_kms_v1_PermissionList, _kms_v1_PermissionList__Output>
      ProofChain: MessageTypeDefinition<_kms_v1_ProofChain, _kms_v1_ProofChain__Output>
      ProofToken: MessageTypeDefinition<_kms_v1_ProofToken, _kms_v1_ProofToken__Output>
      ProtectionLevel: EnumTypeDefinition
      PublicKey: MessageTypeDefinition<_kms_v1_PublicKey, _kms_v1_PublicKey__Output>
      ReEncryptRequest: MessageTypeDefinition<_kms_v1_ReEncryptRequest, _kms_v1_ReEncryptRequest__Output>
      ReEncryptResponse: MessageTypeDefinition<_kms_v1_ReEncryptResponse, _kms_v1_ReEncryptResponse__Output>
      RecordDrillRequest: MessageTypeDefinition<_kms_v1_RecordDrillRequest, _kms_v1_RecordDrillRequest__Output>
      RegisterIdentityRequest: MessageTypeDefinition<_kms_v1_RegisterIdentityRequest, _kms_v1_RegisterIdentityRequest__Output>
      ResidencyCrossing: MessageTypeDefinition<_kms_v1_ResidencyCrossing, _kms_v1_ResidencyCrossing__Output>
      ResidencyRules: MessageTypeDefinition<_kms_v1_ResidencyRules, _kms_v1_ResidencyRules__Output>
      RotateKeyRequest: MessageTypeDefinition<_kms_v1_RotateKeyRequest, _kms_v1_RotateKeyRequest__Output>
      RotationReason: EnumTypeDefinition
      ScheduleKeyVersionDestructionRequest: MessageTypeDefinition<_kms_v1_ScheduleKeyVersionDestructionRequest, _kms_v1_ScheduleKeyVersionDestructionRequest__Output>
      SetEscrowPolicyRequest: MessageTypeDefinition<_kms_v1_SetEscrowPolicyRequest, _kms_v1_SetEscrowPolicyRequest__Output>
      SetKeyPolicyRequest: MessageTypeDefinition<_kms_v1_SetKeyPolicyRequest, _kms_v1_SetKeyPolicyRequest__Output>
      SetMinDecryptionVersionRequest: MessageTypeDefinition<_kms_v1_SetMinDecryptionVersionRequest, _kms_v1_SetMinDecryptionVersionRequest__Output>
      SetResidencyRuleRequest: MessageTypeDefinition<_kms_v1_SetResidencyRuleRequest, _kms_v1_SetResidencyRuleRequest__Output>
      SignRequest: MessageTypeDefinition<_kms_v1_SignRequest, _kms_v1_SignRequest__Output>
      SignResponse: MessageTypeDefinition<_kms_v1_SignResponse, _kms_v1_SignResponse__Output>
      SubmitEscrowShareRequest: MessageTypeDefinition<_kms_v1_SubmitEscrowShareRequest, _kms_v1_SubmitEscrowShareRequest__Output>
      UpdateKeyLabelsRequest: MessageTypeDefinition<_kms_v1_UpdateKeyLabelsRequest, _kms_v1_UpdateKeyLabelsRequest__Output>
      UpdateRotationPolicyRequest: MessageTypeDefinition<_kms_v1_UpdateRotationPolicyRequest, _kms_v1_UpdateRotationPolicyRequest__Output>
      VerifyMacRequest: MessageTypeDefinition<_kms_v1_VerifyMacRequest, _kms_v1_VerifyMacRequest__Output>
      VerifyMacResponse: MessageTypeDefinition<_kms_v1_VerifyMacResponse, _kms_v1_VerifyMacResponse__Output>
      VerifyRequest: MessageTypeDefinition<_kms_v1_VerifyRequest, _kms_v1_VerifyRequest__Output>
      VerifyResponse: MessageTypeDefinition<_kms_v1_VerifyResponse, _kms_v1_VerifyResponse__Output>
    }
  }
}

