/** The two extra tokens of SoftHsmJurisdictionsTestEnvironment, standing for two jurisdictions. */
export const JURISDICTION_TEST_TOKENS = { eu: 'kms-eu', us: 'kms-us' } as const;
