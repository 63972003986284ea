export { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
