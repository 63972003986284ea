export { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
export * from './read-model-test-schema';
