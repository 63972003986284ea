import { bearerToken } from '@kms/application';
import { createKmsClient } from '@kms/contracts';

/**
 * Who may read the scheduler's status, as the key service decides it: the reader's own token must
 * be allowed ListIdentities (the people who may read keys). The scheduler has no identities of its
 * own to check a token against.
 */
export function keyServiceStatusReaders(keyServiceAddress: string): { authorizeRead: (authorization: string | undefined) => Promise<boolean>; close(): void } {
  const client = createKmsClient(keyServiceAddress);
  return {
    authorizeRead: async (authorization) => {
      const token = bearerToken(authorization);
      if (!token) return false;
      return client.call('ListIdentities', {}, { token, deadlineMs: 5000 }).then(
        () => true,
        () => false,
      );
    },
    close: () => client.close(),
  };
}
