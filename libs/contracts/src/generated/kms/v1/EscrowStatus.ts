// Original file: src/proto/kms/v1/key_management_service.proto

import type { EscrowReconstruction as _kms_v1_EscrowReconstruction, EscrowReconstruction__Output as _kms_v1_EscrowReconstruction__Output } from '../../kms/v1/EscrowReconstruction';

export interface EscrowStatus {
  'key_id'?: (string);
  'key_version'?: (number);
  'ceremony_id'?: (string);
  'status'?: (string);
  'threshold'?: (number);
  'share_count'?: (number);
  'custodians'?: (string)[];
  'counter_signed'?: (string)[];
  'pending_declarations'?: (string)[];
  'declare_by'?: (string);
  'last_drill_time'?: (string);
  'usable_until'?: (string);
  'open_reconstructions'?: (_kms_v1_EscrowReconstruction)[];
}

export interface EscrowStatus__Output {
  'key_id': (string);
  'key_version': (number);
  'ceremony_id': (string);
  'status': (string);
  'threshold': (number);
  'share_count': (number);
  'custodians': (string)[];
  'counter_signed': (string)[];
  'pending_declarations': (string)[];
  'declare_by': (string);
  'last_drill_time': (string);
  'usable_until': (string);
  'open_reconstructions': (_kms_v1_EscrowReconstruction__Output)[];
}
