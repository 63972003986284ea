export * from './escrow.events';
export * from './escrow.decider';
export * from './escrow.codec';
