import { DEFAULT_NOTICE_TOPIC } from '@kms/notices';
import { testConfig } from '@kms/config/testing';
import { DEFAULT_CONFIRMATION_TOPIC } from './confirmation-consumer';

// libs/config cannot import the notice libs, so it repeats their default topics; they must stay the same.
describe('the notices section of the configuration', () => {
  it('defaults to the topics the notice adapters use', () => {
    const { notices } = testConfig();
    expect(notices.topic).toBe(DEFAULT_NOTICE_TOPIC);
    expect(notices.confirmationsTopic).toBe(DEFAULT_CONFIRMATION_TOPIC);
  });
});
