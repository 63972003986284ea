export * from './escrow-crypto';
export * from './escrow-documents';
export * from './escrow-evidence.verifier';
export * from './escrow-evidence.files';
