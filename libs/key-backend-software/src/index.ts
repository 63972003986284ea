export * from './master-key';
export * from './software-key-backend';
export * from './in-memory-key-material-store';
export { materialAad, publicKeyFingerprint, type MaterialBinding } from './key-material';
export * from './in-memory-import-parameters-store';
export * from './in-memory-ceremony-key-store';
