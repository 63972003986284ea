export * from './softhsm-jurisdiction-tokens';
export * from './hsm-instance-registry';
export * from './jurisdictional-hsm-backend';
export * from './compose-hsm-instances';
