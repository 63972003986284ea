// Original file: src/proto/kms/v1/key_management_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AsymmetricDecryptRequest as _kms_v1_AsymmetricDecryptRequest, AsymmetricDecryptRequest__Output as _kms_v1_AsymmetricDecryptRequest__Output } from '../../kms/v1/AsymmetricDecryptRequest';
import type { AsymmetricDecryptResponse as _kms_v1_AsymmetricDecryptResponse, AsymmetricDecryptResponse__Output as _kms_v1_AsymmetricDecryptResponse__Output } from '../../kms/v1/AsymmetricDecryptResponse';
import type { BatchDecryptRequest as _kms_v1_BatchDecryptRequest, BatchDecryptRequest__Output as _kms_v1_BatchDecryptRequest__Output } from '../../kms/v1/BatchDecryptRequest';
import type { BatchDecryptResponse as _kms_v1_BatchDecryptResponse, BatchDecryptResponse__Output as _kms_v1_BatchDecryptResponse__Output } from '../../kms/v1/BatchDecryptResponse';
import type { BatchEncryptRequest as _kms_v1_BatchEncryptRequest, BatchEncryptRequest__Output as _kms_v1_BatchEncryptRequest__Output } from '../../kms/v1/BatchEncryptRequest';
import type { BatchEncryptResponse as _kms_v1_BatchEncryptResponse, BatchEncryptResponse__Output as _kms_v1_BatchEncryptResponse__Output } from '../../kms/v1/BatchEncryptResponse';
import type { BatchReEncryptRequest as _kms_v1_BatchReEncryptRequest, BatchReEncryptRequest__Output as _kms_v1_BatchReEncryptRequest__Output } from '../../kms/v1/BatchReEncryptRequest';
import type { BatchReEncryptResponse as _kms_v1_BatchReEncryptResponse, BatchReEncryptResponse__Output as _kms_v1_BatchReEncryptResponse__Output } from '../../kms/v1/BatchReEncryptResponse';
import type { CloseDrillFollowUpRequest as _kms_v1_CloseDrillFollowUpRequest, CloseDrillFollowUpRequest__Output as _kms_v1_CloseDrillFollowUpRequest__Output } from '../../kms/v1/CloseDrillFollowUpRequest';
import type { CreateKeyRequest as _kms_v1_CreateKeyRequest, CreateKeyRequest__Output as _kms_v1_CreateKeyRequest__Output } from '../../kms/v1/CreateKeyRequest';
import type { DecapsulateRequest as _kms_v1_DecapsulateRequest, DecapsulateRequest__Output as _kms_v1_DecapsulateRequest__Output } from '../../kms/v1/DecapsulateRequest';
import type { DecapsulateResponse as _kms_v1_DecapsulateResponse, DecapsulateResponse__Output as _kms_v1_DecapsulateResponse__Output } from '../../kms/v1/DecapsulateResponse';
import type { DecryptRequest as _kms_v1_DecryptRequest, DecryptRequest__Output as _kms_v1_DecryptRequest__Output } from '../../kms/v1/DecryptRequest';
import type { DecryptResponse as _kms_v1_DecryptResponse, DecryptResponse__Output as _kms_v1_DecryptResponse__Output } from '../../kms/v1/DecryptResponse';
import type { DependentRequest as _kms_v1_DependentRequest, DependentRequest__Output as _kms_v1_DependentRequest__Output } from '../../kms/v1/DependentRequest';
import type { DrillAlerts as _kms_v1_DrillAlerts, DrillAlerts__Output as _kms_v1_DrillAlerts__Output } from '../../kms/v1/DrillAlerts';
import type { DrillStatus as _kms_v1_DrillStatus, DrillStatus__Output as _kms_v1_DrillStatus__Output } from '../../kms/v1/DrillStatus';
import type { EncryptRequest as _kms_v1_EncryptRequest, EncryptRequest__Output as _kms_v1_EncryptRequest__Output } from '../../kms/v1/EncryptRequest';
import type { EncryptResponse as _kms_v1_EncryptResponse, EncryptResponse__Output as _kms_v1_EncryptResponse__Output } from '../../kms/v1/EncryptResponse';
import type { GenerateDataKeyPairRequest as _kms_v1_GenerateDataKeyPairRequest, GenerateDataKeyPairRequest__Output as _kms_v1_GenerateDataKeyPairRequest__Output } from '../../kms/v1/GenerateDataKeyPairRequest';
import type { GenerateDataKeyPairResponse as _kms_v1_GenerateDataKeyPairResponse, GenerateDataKeyPairResponse__Output as _kms_v1_GenerateDataKeyPairResponse__Output } from '../../kms/v1/GenerateDataKeyPairResponse';
import type { GenerateDataKeyRequest as _kms_v1_GenerateDataKeyRequest, GenerateDataKeyRequest__Output as _kms_v1_GenerateDataKeyRequest__Output } from '../../kms/v1/GenerateDataKeyRequest';
import type { GenerateDataKeyResponse as _kms_v1_GenerateDataKeyResponse, GenerateDataKeyResponse__Output as _kms_v1_GenerateDataKeyResponse__Output } from '../../kms/v1/GenerateDataKeyResponse';
import type { GenerateMacRequest as _kms_v1_GenerateMacRequest, GenerateMacRequest__Output as _kms_v1_GenerateMacRequest__Output } from '../../kms/v1/GenerateMacRequest';
import type { GenerateMacResponse as _kms_v1_GenerateMacResponse, GenerateMacResponse__Output as _kms_v1_GenerateMacResponse__Output } from '../../kms/v1/GenerateMacResponse';
import type { GenerateRandomRequest as _kms_v1_GenerateRandomRequest, GenerateRandomRequest__Output as _kms_v1_GenerateRandomRequest__Output } from '../../kms/v1/GenerateRandomRequest';
import type { GenerateRandomResponse as _kms_v1_GenerateRandomResponse, GenerateRandomResponse__Output as _kms_v1_GenerateRandomResponse__Output } from '../../kms/v1/GenerateRandomResponse';
import type { GetDrillStatusRequest as _kms_v1_GetDrillStatusRequest, GetDrillStatusRequest__Output as _kms_v1_GetDrillStatusRequest__Output } from '../../kms/v1/GetDrillStatusRequest';
import type { GetImportParametersRequest as _kms_v1_GetImportParametersRequest, GetImportParametersRequest__Output as _kms_v1_GetImportParametersRequest__Output } from '../../kms/v1/GetImportParametersRequest';
import type { GetKeyOriginStatementRequest as _kms_v1_GetKeyOriginStatementRequest, GetKeyOriginStatementRequest__Output as _kms_v1_GetKeyOriginStatementRequest__Output } from '../../kms/v1/GetKeyOriginStatementRequest';
import type { GetKeyRequest as _kms_v1_GetKeyRequest, GetKeyRequest__Output as _kms_v1_GetKeyRequest__Output } from '../../kms/v1/GetKeyRequest';
import type { GetProofChainRequest as _kms_v1_GetProofChainRequest, GetProofChainRequest__Output as _kms_v1_GetProofChainRequest__Output } from '../../kms/v1/GetProofChainRequest';
import type { GetPublicKeyRequest as _kms_v1_GetPublicKeyRequest, GetPublicKeyRequest__Output as _kms_v1_GetPublicKeyRequest__Output } from '../../kms/v1/GetPublicKeyRequest';
import type { GetResidencyRulesRequest as _kms_v1_GetResidencyRulesRequest, GetResidencyRulesRequest__Output as _kms_v1_GetResidencyRulesRequest__Output } from '../../kms/v1/GetResidencyRulesRequest';
import type { ImportKeyVersionRequest as _kms_v1_ImportKeyVersionRequest, ImportKeyVersionRequest__Output as _kms_v1_ImportKeyVersionRequest__Output } from '../../kms/v1/ImportKeyVersionRequest';
import type { ImportParameters as _kms_v1_ImportParameters, ImportParameters__Output as _kms_v1_ImportParameters__Output } from '../../kms/v1/ImportParameters';
import type { IssueProofTokenRequest as _kms_v1_IssueProofTokenRequest, IssueProofTokenRequest__Output as _kms_v1_IssueProofTokenRequest__Output } from '../../kms/v1/IssueProofTokenRequest';
import type { Key as _kms_v1_Key, Key__Output as _kms_v1_Key__Output } from '../../kms/v1/Key';
import type { KeyOriginStatement as _kms_v1_KeyOriginStatement, KeyOriginStatement__Output as _kms_v1_KeyOriginStatement__Output } from '../../kms/v1/KeyOriginStatement';
import type { KeyVersionRequest as _kms_v1_KeyVersionRequest, KeyVersionRequest__Output as _kms_v1_KeyVersionRequest__Output } from '../../kms/v1/KeyVersionRequest';
import type { ListKeysRequest as _kms_v1_ListKeysRequest, ListKeysRequest__Output as _kms_v1_ListKeysRequest__Output } from '../../kms/v1/ListKeysRequest';
import type { ListKeysResponse as _kms_v1_ListKeysResponse, ListKeysResponse__Output as _kms_v1_ListKeysResponse__Output } from '../../kms/v1/ListKeysResponse';
import type { ProofChain as _kms_v1_ProofChain, ProofChain__Output as _kms_v1_ProofChain__Output } from '../../kms/v1/ProofChain';
import type { ProofToken as _kms_v1_ProofToken, ProofToken__Output as _kms_v1_ProofToken__Output } from '../../kms/v1/ProofToken';
import type { PublicKey as _kms_v1_PublicKey, PublicKey__Output as _kms_v1_PublicKey__Output } from '../../kms/v1/PublicKey';
import type { ReEncryptRequest as _kms_v1_ReEncryptRequest, ReEncryptRequest__Output as _kms_v1_ReEncryptRequest__Output } from '../../kms/v1/ReEncryptRequest';
import type { ReEncryptResponse as _kms_v1_ReEncryptResponse, ReEncryptResponse__Output as _kms_v1_ReEncryptResponse__Output } from '../../kms/v1/ReEncryptResponse';
import type { RecordDrillRequest as _kms_v1_RecordDrillRequest, RecordDrillRequest__Output as _kms_v1_RecordDrillRequest__Output } from '../../kms/v1/RecordDrillRequest';
import type { ResidencyRules as _kms_v1_ResidencyRules, ResidencyRules__Output as _kms_v1_ResidencyRules__Output } from '../../kms/v1/ResidencyRules';
import type { RotateKeyRequest as _kms_v1_RotateKeyRequest, RotateKeyRequest__Output as _kms_v1_RotateKeyRequest__Output } from '../../kms/v1/RotateKeyRequest';
import type { ScheduleKeyVersionDestructionRequest as _kms_v1_ScheduleKeyVersionDestructionRequest, ScheduleKeyVersionDestructionRequest__Output as _kms_v1_ScheduleKeyVersionDestructionRequest__Output } from '../../kms/v1/ScheduleKeyVersionDestructionRequest';
import type { SetKeyPolicyRequest as _kms_v1_SetKeyPolicyRequest, SetKeyPolicyRequest__Output as _kms_v1_SetKeyPolicyRequest__Output } from '../../kms/v1/SetKeyPolicyRequest';
import type { SetMinDecryptionVersionRequest as _kms_v1_SetMinDecryptionVersionRequest, SetMinDecryptionVersionRequest__Output as _kms_v1_SetMinDecryptionVersionRequest__Output } from '../../kms/v1/SetMinDecryptionVersionRequest';
import type { SetResidencyRuleRequest as _kms_v1_SetResidencyRuleRequest, SetResidencyRuleRequest__Output as _kms_v1_SetResidencyRuleRequest__Output } from '../../kms/v1/SetResidencyRuleRequest';
import type { SignRequest as _kms_v1_SignRequest, SignRequest__Output as _kms_v1_SignRequest__Output } from '../../kms/v1/SignRequest';
import type { SignResponse as _kms_v1_SignResponse, SignResponse__Output as _kms_v1_SignResponse__Output } from '../../kms/v1/SignResponse';
import type { UpdateKeyLabelsRequest as _kms_v1_UpdateKeyLabelsRequest, UpdateKeyLabelsRequest__Output as _kms_v1_UpdateKeyLabelsRequest__Output } from '../../kms/v1/UpdateKeyLabelsRequest';
import type { UpdateRotationPolicyRequest as _kms_v1_UpdateRotationPolicyRequest, UpdateRotationPolicyRequest__Output as _kms_v1_UpdateRotationPolicyRequest__Output } from '../../kms/v1/UpdateRotationPolicyRequest';
import type { VerifyMacRequest as _kms_v1_VerifyMacRequest, VerifyMacRequest__Output as _kms_v1_VerifyMacRequest__Output } from '../../kms/v1/VerifyMacRequest';
import type { VerifyMacResponse as _kms_v1_VerifyMacResponse, VerifyMacResponse__Output as _kms_v1_VerifyMacResponse__Output } from '../../kms/v1/VerifyMacResponse';
import type { VerifyRequest as _kms_v1_VerifyRequest, VerifyRequest__Output as _kms_v1_VerifyRequest__Output } from '../../kms/v1/VerifyRequest';
import type { VerifyResponse as _kms_v1_VerifyResponse, VerifyResponse__Output as _kms_v1_VerifyResponse__Output } from '../../kms/v1/VerifyResponse';

export interface KeyManagementServiceClient extends grpc.Client {
  AsymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  AsymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  AsymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  AsymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  asymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  asymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  asymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  asymmetricDecrypt(argument: _kms_v1_AsymmetricDecryptRequest, callback: grpc.requestCallback<_kms_v1_AsymmetricDecryptResponse__Output>): grpc.ClientUnaryCall;
  
  BatchDecrypt(argument: _kms_v1_BatchDecryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  BatchDecrypt(argument: _kms_v1_BatchDecryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  BatchDecrypt(argument: _kms_v1_BatchDecryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  BatchDecrypt(argument: _kms_v1_BatchDecryptRequest, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  batchDecrypt(argument: _kms_v1_BatchDecryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  batchDecrypt(argument: _kms_v1_BatchDecryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  batchDecrypt(argument: _kms_v1_BatchDecryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  batchDecrypt(argument: _kms_v1_BatchDecryptRequest, callback: grpc.requestCallback<_kms_v1_BatchDecryptResponse__Output>): grpc.ClientUnaryCall;
  
  BatchEncrypt(argument: _kms_v1_BatchEncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  BatchEncrypt(argument: _kms_v1_BatchEncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  BatchEncrypt(argument: _kms_v1_BatchEncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  BatchEncrypt(argument: _kms_v1_BatchEncryptRequest, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchEncrypt(argument: _kms_v1_BatchEncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchEncrypt(argument: _kms_v1_BatchEncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchEncrypt(argument: _kms_v1_BatchEncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchEncrypt(argument: _kms_v1_BatchEncryptRequest, callback: grpc.requestCallback<_kms_v1_BatchEncryptResponse__Output>): grpc.ClientUnaryCall;
  
  BatchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  BatchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  BatchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  BatchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  batchReEncrypt(argument: _kms_v1_BatchReEncryptRequest, callback: grpc.requestCallback<_kms_v1_BatchReEncryptResponse__Output>): grpc.ClientUnaryCall;
  
  CancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  CancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  CancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  CancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  cancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  cancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  cancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  cancelKeyVersionDestruction(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  CloseDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  CloseDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  CloseDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  CloseDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  closeDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  closeDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  closeDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  closeDrillFollowUp(argument: _kms_v1_CloseDrillFollowUpRequest, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  
  ConfirmKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ConfirmKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ConfirmKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ConfirmKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  confirmKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  confirmKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  confirmKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  confirmKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  CreateKey(argument: _kms_v1_CreateKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  CreateKey(argument: _kms_v1_CreateKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  CreateKey(argument: _kms_v1_CreateKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  CreateKey(argument: _kms_v1_CreateKeyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  createKey(argument: _kms_v1_CreateKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  createKey(argument: _kms_v1_CreateKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  createKey(argument: _kms_v1_CreateKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  createKey(argument: _kms_v1_CreateKeyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  Decapsulate(argument: _kms_v1_DecapsulateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  Decapsulate(argument: _kms_v1_DecapsulateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  Decapsulate(argument: _kms_v1_DecapsulateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  Decapsulate(argument: _kms_v1_DecapsulateRequest, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  decapsulate(argument: _kms_v1_DecapsulateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  decapsulate(argument: _kms_v1_DecapsulateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  decapsulate(argument: _kms_v1_DecapsulateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  decapsulate(argument: _kms_v1_DecapsulateRequest, callback: grpc.requestCallback<_kms_v1_DecapsulateResponse__Output>): grpc.ClientUnaryCall;
  
  Decrypt(argument: _kms_v1_DecryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  Decrypt(argument: _kms_v1_DecryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  Decrypt(argument: _kms_v1_DecryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  Decrypt(argument: _kms_v1_DecryptRequest, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  decrypt(argument: _kms_v1_DecryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  decrypt(argument: _kms_v1_DecryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  decrypt(argument: _kms_v1_DecryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  decrypt(argument: _kms_v1_DecryptRequest, callback: grpc.requestCallback<_kms_v1_DecryptResponse__Output>): grpc.ClientUnaryCall;
  
  DestroyKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  DestroyKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  DestroyKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  DestroyKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  destroyKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  destroyKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  destroyKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  destroyKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  DisableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  DisableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  DisableKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  DisableKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  disableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  disableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  disableKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  disableKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  EnableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  EnableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  EnableKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  EnableKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  enableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  enableKeyVersion(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  enableKeyVersion(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  enableKeyVersion(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  Encrypt(argument: _kms_v1_EncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  Encrypt(argument: _kms_v1_EncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  Encrypt(argument: _kms_v1_EncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  Encrypt(argument: _kms_v1_EncryptRequest, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  encrypt(argument: _kms_v1_EncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  encrypt(argument: _kms_v1_EncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  encrypt(argument: _kms_v1_EncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  encrypt(argument: _kms_v1_EncryptRequest, callback: grpc.requestCallback<_kms_v1_EncryptResponse__Output>): grpc.ClientUnaryCall;
  
  GenerateDataKey(argument: _kms_v1_GenerateDataKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  GenerateDataKey(argument: _kms_v1_GenerateDataKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  GenerateDataKey(argument: _kms_v1_GenerateDataKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  GenerateDataKey(argument: _kms_v1_GenerateDataKeyRequest, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  generateDataKey(argument: _kms_v1_GenerateDataKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  generateDataKey(argument: _kms_v1_GenerateDataKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  generateDataKey(argument: _kms_v1_GenerateDataKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  generateDataKey(argument: _kms_v1_GenerateDataKeyRequest, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyResponse__Output>): grpc.ClientUnaryCall;
  
  GenerateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  GenerateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  GenerateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  GenerateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  generateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  generateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  generateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  generateDataKeyPair(argument: _kms_v1_GenerateDataKeyPairRequest, callback: grpc.requestCallback<_kms_v1_GenerateDataKeyPairResponse__Output>): grpc.ClientUnaryCall;
  
  GenerateMac(argument: _kms_v1_GenerateMacRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  GenerateMac(argument: _kms_v1_GenerateMacRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  GenerateMac(argument: _kms_v1_GenerateMacRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  GenerateMac(argument: _kms_v1_GenerateMacRequest, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  generateMac(argument: _kms_v1_GenerateMacRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  generateMac(argument: _kms_v1_GenerateMacRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  generateMac(argument: _kms_v1_GenerateMacRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  generateMac(argument: _kms_v1_GenerateMacRequest, callback: grpc.requestCallback<_kms_v1_GenerateMacResponse__Output>): grpc.ClientUnaryCall;
  
  GenerateRandom(argument: _kms_v1_GenerateRandomRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  GenerateRandom(argument: _kms_v1_GenerateRandomRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  GenerateRandom(argument: _kms_v1_GenerateRandomRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  GenerateRandom(argument: _kms_v1_GenerateRandomRequest, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  generateRandom(argument: _kms_v1_GenerateRandomRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  generateRandom(argument: _kms_v1_GenerateRandomRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  generateRandom(argument: _kms_v1_GenerateRandomRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  generateRandom(argument: _kms_v1_GenerateRandomRequest, callback: grpc.requestCallback<_kms_v1_GenerateRandomResponse__Output>): grpc.ClientUnaryCall;
  
  GetDrillStatus(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  GetDrillStatus(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  GetDrillStatus(argument: _kms_v1_GetDrillStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  GetDrillStatus(argument: _kms_v1_GetDrillStatusRequest, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  getDrillStatus(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  getDrillStatus(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  getDrillStatus(argument: _kms_v1_GetDrillStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  getDrillStatus(argument: _kms_v1_GetDrillStatusRequest, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  
  GetImportParameters(argument: _kms_v1_GetImportParametersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  GetImportParameters(argument: _kms_v1_GetImportParametersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  GetImportParameters(argument: _kms_v1_GetImportParametersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  GetImportParameters(argument: _kms_v1_GetImportParametersRequest, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  getImportParameters(argument: _kms_v1_GetImportParametersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  getImportParameters(argument: _kms_v1_GetImportParametersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  getImportParameters(argument: _kms_v1_GetImportParametersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  getImportParameters(argument: _kms_v1_GetImportParametersRequest, callback: grpc.requestCallback<_kms_v1_ImportParameters__Output>): grpc.ClientUnaryCall;
  
  GetKey(argument: _kms_v1_GetKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  GetKey(argument: _kms_v1_GetKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  GetKey(argument: _kms_v1_GetKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  GetKey(argument: _kms_v1_GetKeyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  getKey(argument: _kms_v1_GetKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  getKey(argument: _kms_v1_GetKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  getKey(argument: _kms_v1_GetKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  getKey(argument: _kms_v1_GetKeyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  GetKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  GetKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  GetKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  GetKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  getKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  getKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  getKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  getKeyOriginStatement(argument: _kms_v1_GetKeyOriginStatementRequest, callback: grpc.requestCallback<_kms_v1_KeyOriginStatement__Output>): grpc.ClientUnaryCall;
  
  GetProofChain(argument: _kms_v1_GetProofChainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  GetProofChain(argument: _kms_v1_GetProofChainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  GetProofChain(argument: _kms_v1_GetProofChainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  GetProofChain(argument: _kms_v1_GetProofChainRequest, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  getProofChain(argument: _kms_v1_GetProofChainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  getProofChain(argument: _kms_v1_GetProofChainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  getProofChain(argument: _kms_v1_GetProofChainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  getProofChain(argument: _kms_v1_GetProofChainRequest, callback: grpc.requestCallback<_kms_v1_ProofChain__Output>): grpc.ClientUnaryCall;
  
  GetPublicKey(argument: _kms_v1_GetPublicKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  GetPublicKey(argument: _kms_v1_GetPublicKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  GetPublicKey(argument: _kms_v1_GetPublicKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  GetPublicKey(argument: _kms_v1_GetPublicKeyRequest, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  getPublicKey(argument: _kms_v1_GetPublicKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  getPublicKey(argument: _kms_v1_GetPublicKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  getPublicKey(argument: _kms_v1_GetPublicKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  getPublicKey(argument: _kms_v1_GetPublicKeyRequest, callback: grpc.requestCallback<_kms_v1_PublicKey__Output>): grpc.ClientUnaryCall;
  
  GetResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  GetResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  GetResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  GetResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  getResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  getResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  getResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  getResidencyRules(argument: _kms_v1_GetResidencyRulesRequest, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  
  ImportKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ImportKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ImportKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ImportKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  importKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  importKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  importKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  importKeyVersion(argument: _kms_v1_ImportKeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  IssueProofToken(argument: _kms_v1_IssueProofTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  IssueProofToken(argument: _kms_v1_IssueProofTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  IssueProofToken(argument: _kms_v1_IssueProofTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  IssueProofToken(argument: _kms_v1_IssueProofTokenRequest, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  issueProofToken(argument: _kms_v1_IssueProofTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  issueProofToken(argument: _kms_v1_IssueProofTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  issueProofToken(argument: _kms_v1_IssueProofTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  issueProofToken(argument: _kms_v1_IssueProofTokenRequest, callback: grpc.requestCallback<_kms_v1_ProofToken__Output>): grpc.ClientUnaryCall;
  
  ListKeys(argument: _kms_v1_ListKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  ListKeys(argument: _kms_v1_ListKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  ListKeys(argument: _kms_v1_ListKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  ListKeys(argument: _kms_v1_ListKeysRequest, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  listKeys(argument: _kms_v1_ListKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  listKeys(argument: _kms_v1_ListKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  listKeys(argument: _kms_v1_ListKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  listKeys(argument: _kms_v1_ListKeysRequest, callback: grpc.requestCallback<_kms_v1_ListKeysResponse__Output>): grpc.ClientUnaryCall;
  
  ReEncrypt(argument: _kms_v1_ReEncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  ReEncrypt(argument: _kms_v1_ReEncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  ReEncrypt(argument: _kms_v1_ReEncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  ReEncrypt(argument: _kms_v1_ReEncryptRequest, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  reEncrypt(argument: _kms_v1_ReEncryptRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  reEncrypt(argument: _kms_v1_ReEncryptRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  reEncrypt(argument: _kms_v1_ReEncryptRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  reEncrypt(argument: _kms_v1_ReEncryptRequest, callback: grpc.requestCallback<_kms_v1_ReEncryptResponse__Output>): grpc.ClientUnaryCall;
  
  RecordDrill(argument: _kms_v1_RecordDrillRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  RecordDrill(argument: _kms_v1_RecordDrillRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  RecordDrill(argument: _kms_v1_RecordDrillRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  RecordDrill(argument: _kms_v1_RecordDrillRequest, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  recordDrill(argument: _kms_v1_RecordDrillRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  recordDrill(argument: _kms_v1_RecordDrillRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  recordDrill(argument: _kms_v1_RecordDrillRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  recordDrill(argument: _kms_v1_RecordDrillRequest, callback: grpc.requestCallback<_kms_v1_DrillStatus__Output>): grpc.ClientUnaryCall;
  
  RegisterDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RegisterDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RegisterDependent(argument: _kms_v1_DependentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RegisterDependent(argument: _kms_v1_DependentRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  registerDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  registerDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  registerDependent(argument: _kms_v1_DependentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  registerDependent(argument: _kms_v1_DependentRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  RemoveDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RemoveDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RemoveDependent(argument: _kms_v1_DependentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RemoveDependent(argument: _kms_v1_DependentRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  removeDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  removeDependent(argument: _kms_v1_DependentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  removeDependent(argument: _kms_v1_DependentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  removeDependent(argument: _kms_v1_DependentRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  ReportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  ReportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  ReportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  ReportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  reportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  reportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  reportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  reportDrillsOverdue(argument: _kms_v1_GetDrillStatusRequest, callback: grpc.requestCallback<_kms_v1_DrillAlerts__Output>): grpc.ClientUnaryCall;
  
  ReportKeyCompromise(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ReportKeyCompromise(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ReportKeyCompromise(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ReportKeyCompromise(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportKeyCompromise(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportKeyCompromise(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportKeyCompromise(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportKeyCompromise(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  ReportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ReportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ReportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ReportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  reportOverdueConfirmations(argument: _kms_v1_KeyVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  RotateKey(argument: _kms_v1_RotateKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RotateKey(argument: _kms_v1_RotateKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RotateKey(argument: _kms_v1_RotateKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  RotateKey(argument: _kms_v1_RotateKeyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  rotateKey(argument: _kms_v1_RotateKeyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  rotateKey(argument: _kms_v1_RotateKeyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  rotateKey(argument: _kms_v1_RotateKeyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  rotateKey(argument: _kms_v1_RotateKeyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  ScheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ScheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ScheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  ScheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  scheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  scheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  scheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  scheduleKeyVersionDestruction(argument: _kms_v1_ScheduleKeyVersionDestructionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  SetKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  SetKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  SetKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  SetKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setKeyPolicy(argument: _kms_v1_SetKeyPolicyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  SetMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  SetMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  SetMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  SetMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  setMinDecryptionVersion(argument: _kms_v1_SetMinDecryptionVersionRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  SetResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  SetResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  SetResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  SetResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  setResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  setResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  setResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  setResidencyRule(argument: _kms_v1_SetResidencyRuleRequest, callback: grpc.requestCallback<_kms_v1_ResidencyRules__Output>): grpc.ClientUnaryCall;
  
  Sign(argument: _kms_v1_SignRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  Sign(argument: _kms_v1_SignRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  Sign(argument: _kms_v1_SignRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  Sign(argument: _kms_v1_SignRequest, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _kms_v1_SignRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _kms_v1_SignRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _kms_v1_SignRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  sign(argument: _kms_v1_SignRequest, callback: grpc.requestCallback<_kms_v1_SignResponse__Output>): grpc.ClientUnaryCall;
  
  UpdateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  UpdateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  UpdateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  UpdateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateKeyLabels(argument: _kms_v1_UpdateKeyLabelsRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  UpdateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  UpdateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  UpdateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  UpdateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  updateRotationPolicy(argument: _kms_v1_UpdateRotationPolicyRequest, callback: grpc.requestCallback<_kms_v1_Key__Output>): grpc.ClientUnaryCall;
  
  Verify(argument: _kms_v1_VerifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  Verify(argument: _kms_v1_VerifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  Verify(argument: _kms_v1_VerifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  Verify(argument: _kms_v1_VerifyRequest, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _kms_v1_VerifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _kms_v1_VerifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _kms_v1_VerifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _kms_v1_VerifyRequest, callback: grpc.requestCallback<_kms_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  
  VerifyMac(argument: _kms_v1_VerifyMacRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  VerifyMac(argument: _kms_v1_VerifyMacRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  VerifyMac(argument: _kms_v1_VerifyMacRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  VerifyMac(argument: _kms_v1_VerifyMacRequest, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  verifyMac(argument: _kms_v1_VerifyMacRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  verifyMac(argument: _kms_v1_VerifyMacRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  verifyMac(argument: _kms_v1_VerifyMacRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  verifyMac(argument: _kms_v1_VerifyMacRequest, callback: grpc.requestCallback<_kms_v1_VerifyMacResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface KeyManagementServiceHandlers extends grpc.UntypedServiceImplementation {
  AsymmetricDecrypt: grpc.handleUnaryCall<_kms_v1_AsymmetricDecryptRequest__Output, _kms_v1_AsymmetricDecryptResponse>;
  
  BatchDecrypt: grpc.handleUnaryCall<_kms_v1_BatchDecryptRequest__Output, _kms_v1_BatchDecryptResponse>;
  
  BatchEncrypt: grpc.handleUnaryCall<_kms_v1_BatchEncryptRequest__Output, _kms_v1_BatchEncryptResponse>;
  
  BatchReEncrypt: grpc.handleUnaryCall<_kms_v1_BatchReEncryptRequest__Output, _kms_v1_BatchReEncryptResponse>;
  
  CancelKeyVersionDestruction: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  CloseDrillFollowUp: grpc.handleUnaryCall<_kms_v1_CloseDrillFollowUpRequest__Output, _kms_v1_DrillStatus>;
  
  ConfirmKeyVersion: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  CreateKey: grpc.handleUnaryCall<_kms_v1_CreateKeyRequest__Output, _kms_v1_Key>;
  
  Decapsulate: grpc.handleUnaryCall<_kms_v1_DecapsulateRequest__Output, _kms_v1_DecapsulateResponse>;
  
  Decrypt: grpc.handleUnaryCall<_kms_v1_DecryptRequest__Output, _kms_v1_DecryptResponse>;
  
  DestroyKeyVersion: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  DisableKeyVersion: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  EnableKeyVersion: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  Encrypt: grpc.handleUnaryCall<_kms_v1_EncryptRequest__Output, _kms_v1_EncryptResponse>;
  
  GenerateDataKey: grpc.handleUnaryCall<_kms_v1_GenerateDataKeyRequest__Output, _kms_v1_GenerateDataKeyResponse>;
  
  GenerateDataKeyPair: grpc.handleUnaryCall<_kms_v1_GenerateDataKeyPairRequest__Output, _kms_v1_GenerateDataKeyPairResponse>;
  
  GenerateMac: grpc.handleUnaryCall<_kms_v1_GenerateMacRequest__Output, _kms_v1_GenerateMacResponse>;
  
  GenerateRandom: grpc.handleUnaryCall<_kms_v1_GenerateRandomRequest__Output, _kms_v1_GenerateRandomResponse>;
  
  GetDrillStatus: grpc.handleUnaryCall<_kms_v1_GetDrillStatusRequest__Output, _kms_v1_DrillStatus>;
  
  GetImportParameters: grpc.handleUnaryCall<_kms_v1_GetImportParametersRequest__Output, _kms_v1_ImportParameters>;
  
  GetKey: grpc.handleUnaryCall<_kms_v1_GetKeyRequest__Output, _kms_v1_Key>;
  
  GetKeyOriginStatement: grpc.handleUnaryCall<_kms_v1_GetKeyOriginStatementRequest__Output, _kms_v1_KeyOriginStatement>;
  
  GetProofChain: grpc.handleUnaryCall<_kms_v1_GetProofChainRequest__Output, _kms_v1_ProofChain>;
  
  GetPublicKey: grpc.handleUnaryCall<_kms_v1_GetPublicKeyRequest__Output, _kms_v1_PublicKey>;
  
  GetResidencyRules: grpc.handleUnaryCall<_kms_v1_GetResidencyRulesRequest__Output, _kms_v1_ResidencyRules>;
  
  ImportKeyVersion: grpc.handleUnaryCall<_kms_v1_ImportKeyVersionRequest__Output, _kms_v1_Key>;
  
  IssueProofToken: grpc.handleUnaryCall<_kms_v1_IssueProofTokenRequest__Output, _kms_v1_ProofToken>;
  
  ListKeys: grpc.handleUnaryCall<_kms_v1_ListKeysRequest__Output, _kms_v1_ListKeysResponse>;
  
  ReEncrypt: grpc.handleUnaryCall<_kms_v1_ReEncryptRequest__Output, _kms_v1_ReEncryptResponse>;
  
  RecordDrill: grpc.handleUnaryCall<_kms_v1_RecordDrillRequest__Output, _kms_v1_DrillStatus>;
  
  RegisterDependent: grpc.handleUnaryCall<_kms_v1_DependentRequest__Output, _kms_v1_Key>;
  
  RemoveDependent: grpc.handleUnaryCall<_kms_v1_DependentRequest__Output, _kms_v1_Key>;
  
  ReportDrillsOverdue: grpc.handleUnaryCall<_kms_v1_GetDrillStatusRequest__Output, _kms_v1_DrillAlerts>;
  
  ReportKeyCompromise: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  ReportOverdueConfirmations: grpc.handleUnaryCall<_kms_v1_KeyVersionRequest__Output, _kms_v1_Key>;
  
  RotateKey: grpc.handleUnaryCall<_kms_v1_RotateKeyRequest__Output, _kms_v1_Key>;
  
  ScheduleKeyVersionDestruction: grpc.handleUnaryCall<_kms_v1_ScheduleKeyVersionDestructionRequest__Output, _kms_v1_Key>;
  
  SetKeyPolicy: grpc.handleUnaryCall<_kms_v1_SetKeyPolicyRequest__Output, _kms_v1_Key>;
  
  SetMinDecryptionVersion: grpc.handleUnaryCall<_kms_v1_SetMinDecryptionVersionRequest__Output, _kms_v1_Key>;
  
  SetResidencyRule: grpc.handleUnaryCall<_kms_v1_SetResidencyRuleRequest__Output, _kms_v1_ResidencyRules>;
  
  Sign: grpc.handleUnaryCall<_kms_v1_SignRequest__Output, _kms_v1_SignResponse>;
  
  UpdateKeyLabels: grpc.handleUnaryCall<_kms_v1_UpdateKeyLabelsRequest__Output, _kms_v1_Key>;
  
  UpdateRotationPolicy: grpc.handleUnaryCall<_kms_v1_UpdateRotationPolicyRequest__Output, _kms_v1_Key>;
  
  Verify: grpc.handleUnaryCall<_kms_v1_VerifyRequest__Output, _kms_v1_VerifyResponse>;
  
  VerifyMac: grpc.handleUnaryCall<_kms_v1_VerifyMacRequest__Output, _kms_v1_VerifyMacResponse>;
  
}

export interface KeyManagementServiceDefinition extends grpc.ServiceDefinition {
  AsymmetricDecrypt: MethodDefinition<_kms_v1_AsymmetricDecryptRequest, _kms_v1_AsymmetricDecryptResponse, _kms_v1_AsymmetricDecryptRequest__Output, _kms_v1_AsymmetricDecryptResponse__Output>
  BatchDecrypt: MethodDefinition<_kms_v1_BatchDecryptRequest, _kms_v1_BatchDecryptResponse, _kms_v1_BatchDecryptRequest__Output, _kms_v1_BatchDecryptResponse__Output>
  BatchEncrypt: MethodDefinition<_kms_v1_BatchEncryptRequest, _kms_v1_BatchEncryptResponse, _kms_v1_BatchEncryptRequest__Output, _kms_v1_BatchEncryptResponse__Output>
  BatchReEncrypt: MethodDefinition<_kms_v1_BatchReEncryptRequest, _kms_v1_BatchReEncryptResponse, _kms_v1_BatchReEncryptRequest__Output, _kms_v1_BatchReEncryptResponse__Output>
  CancelKeyVersionDestruction: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  CloseDrillFollowUp: MethodDefinition<_kms_v1_CloseDrillFollowUpRequest, _kms_v1_DrillStatus, _kms_v1_CloseDrillFollowUpRequest__Output, _kms_v1_DrillStatus__Output>
  ConfirmKeyVersion: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  CreateKey: MethodDefinition<_kms_v1_CreateKeyRequest, _kms_v1_Key, _kms_v1_CreateKeyRequest__Output, _kms_v1_Key__Output>
  Decapsulate: MethodDefinition<_kms_v1_DecapsulateRequest, _kms_v1_DecapsulateResponse, _kms_v1_DecapsulateRequest__Output, _kms_v1_DecapsulateResponse__Output>
  Decrypt: MethodDefinition<_kms_v1_DecryptRequest, _kms_v1_DecryptResponse, _kms_v1_DecryptRequest__Output, _kms_v1_DecryptResponse__Output>
  DestroyKeyVersion: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  DisableKeyVersion: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  EnableKeyVersion: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  Encrypt: MethodDefinition<_kms_v1_EncryptRequest, _kms_v1_EncryptResponse, _kms_v1_EncryptRequest__Output, _kms_v1_EncryptResponse__Output>
  GenerateDataKey: MethodDefinition<_kms_v1_GenerateDataKeyRequest, _kms_v1_GenerateDataKeyResponse, _kms_v1_GenerateDataKeyRequest__Output, _kms_v1_GenerateDataKeyResponse__Output>
  GenerateDataKeyPair: MethodDefinition<_kms_v1_GenerateDataKeyPairRequest, _kms_v1_GenerateDataKeyPairResponse, _kms_v1_GenerateDataKeyPairRequest__Output, _kms_v1_GenerateDataKeyPairResponse__Output>
  GenerateMac: MethodDefinition<_kms_v1_GenerateMacRequest, _kms_v1_GenerateMacResponse, _kms_v1_GenerateMacRequest__Output, _kms_v1_GenerateMacResponse__Output>
  GenerateRandom: MethodDefinition<_kms_v1_GenerateRandomRequest, _kms_v1_GenerateRandomResponse, _kms_v1_GenerateRandomRequest__Output, _kms_v1_GenerateRandomResponse__Output>
  GetDrillStatus: MethodDefinition<_kms_v1_GetDrillStatusRequest, _kms_v1_DrillStatus, _kms_v1_GetDrillStatusRequest__Output, _kms_v1_DrillStatus__Output>
  GetImportParameters: MethodDefinition<_kms_v1_GetImportParametersRequest, _kms_v1_ImportParameters, _kms_v1_GetImportParametersRequest__Output, _kms_v1_ImportParameters__Output>
  GetKey: MethodDefinition<_kms_v1_GetKeyRequest, _kms_v1_Key, _kms_v1_GetKeyRequest__Output, _kms_v1_Key__Output>
  GetKeyOriginStatement: MethodDefinition<_kms_v1_GetKeyOriginStatementRequest, _kms_v1_KeyOriginStatement, _kms_v1_GetKeyOriginStatementRequest__Output, _kms_v1_KeyOriginStatement__Output>
  GetProofChain: MethodDefinition<_kms_v1_GetProofChainRequest, _kms_v1_ProofChain, _kms_v1_GetProofChainRequest__Output, _kms_v1_ProofChain__Output>
  GetPublicKey: MethodDefinition<_kms_v1_GetPublicKeyRequest, _kms_v1_PublicKey, _kms_v1_GetPublicKeyRequest__Output, _kms_v1_PublicKey__Output>
  GetResidencyRules: MethodDefinition<_kms_v1_GetResidencyRulesRequest, _kms_v1_ResidencyRules, _kms_v1_GetResidencyRulesRequest__Output, _kms_v1_ResidencyRules__Output>
  ImportKeyVersion: MethodDefinition<_kms_v1_ImportKeyVersionRequest, _kms_v1_Key, _kms_v1_ImportKeyVersionRequest__Output, _kms_v1_Key__Output>
  IssueProofToken: MethodDefinition<_kms_v1_IssueProofTokenRequest, _kms_v1_ProofToken, _kms_v1_IssueProofTokenRequest__Output, _kms_v1_ProofToken__Output>
  ListKeys: MethodDefinition<_kms_v1_ListKeysRequest, _kms_v1_ListKeysResponse, _kms_v1_ListKeysRequest__Output, _kms_v1_ListKeysResponse__Output>
  ReEncrypt: MethodDefinition<_kms_v1_ReEncryptRequest, _kms_v1_ReEncryptResponse, _kms_v1_ReEncryptRequest__Output, _kms_v1_ReEncryptResponse__Output>
  RecordDrill: MethodDefinition<_kms_v1_RecordDrillRequest, _kms_v1_DrillStatus, _kms_v1_RecordDrillRequest__Output, _kms_v1_DrillStatus__Output>
  RegisterDependent: MethodDefinition<_kms_v1_DependentRequest, _kms_v1_Key, _kms_v1_DependentRequest__Output, _kms_v1_Key__Output>
  RemoveDependent: MethodDefinition<_kms_v1_DependentRequest, _kms_v1_Key, _kms_v1_DependentRequest__Output, _kms_v1_Key__Output>
  ReportDrillsOverdue: MethodDefinition<_kms_v1_GetDrillStatusRequest, _kms_v1_DrillAlerts, _kms_v1_GetDrillStatusRequest__Output, _kms_v1_DrillAlerts__Output>
  ReportKeyCompromise: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  ReportOverdueConfirmations: MethodDefinition<_kms_v1_KeyVersionRequest, _kms_v1_Key, _kms_v1_KeyVersionRequest__Output, _kms_v1_Key__Output>
  RotateKey: MethodDefinition<_kms_v1_RotateKeyRequest, _kms_v1_Key, _kms_v1_RotateKeyRequest__Output, _kms_v1_Key__Output>
  ScheduleKeyVersionDestruction: MethodDefinition<_kms_v1_ScheduleKeyVersionDestructionRequest, _kms_v1_Key, _kms_v1_ScheduleKeyVersionDestructionRequest__Output, _kms_v1_Key__Output>
  SetKeyPolicy: MethodDefinition<_kms_v1_SetKeyPolicyRequest, _kms_v1_Key, _kms_v1_SetKeyPolicyRequest__Output, _kms_v1_Key__Output>
  SetMinDecryptionVersion: MethodDefinition<_kms_v1_SetMinDecryptionVersionRequest, _kms_v1_Key, _kms_v1_SetMinDecryptionVersionRequest__Output, _kms_v1_Key__Output>
  SetResidencyRule: MethodDefinition<_kms_v1_SetResidencyRuleRequest, _kms_v1_ResidencyRules, _kms_v1_SetResidencyRuleRequest__Output, _kms_v1_ResidencyRules__Output>
  Sign: MethodDefinition<_kms_v1_SignRequest, _kms_v1_SignResponse, _kms_v1_SignRequest__Output, _kms_v1_SignResponse__Output>
  UpdateKeyLabels: MethodDefinition<_kms_v1_UpdateKeyLabelsRequest, _kms_v1_Key, _kms_v1_UpdateKeyLabelsRequest__Output, _kms_v1_Key__Output>
  UpdateRotationPolicy: MethodDefinition<_kms_v1_UpdateRotationPolicyRequest, _kms_v1_Key, _kms_v1_UpdateRotationPolicyRequest__Output, _kms_v1_Key__Output>
  Verify: MethodDefinition<_kms_v1_VerifyRequest, _kms_v1_VerifyResponse, _kms_v1_VerifyRequest__Output, _kms_v1_VerifyResponse__Output>
  VerifyMac: MethodDefinition<_kms_v1_VerifyMacRequest, _kms_v1_VerifyMacResponse, _kms_v1_VerifyMacRequest__Output, _kms_v1_VerifyMacResponse__Output>
}
