export * from './merkle-tree';
export * from './checkpoint-note';
export * from './leaf-record';
export * from './tar-archive';
export * from './evidence-bundle';
export * from './evidence-bundle.assembler';
export * from './evidence-bundle.verifier';
export * from './backup/backup-archive';
