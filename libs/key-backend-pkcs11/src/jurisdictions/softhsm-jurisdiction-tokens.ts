import { ensureSoftHsmToken, type SoftHsmToken } from '../softhsm-token';

/**
 * Idempotently set up several SoftHSM2 tokens (one per label, e.g. one per jurisdiction) in the same
 * `<stateDir>/hsm` folder: one softhsm2.conf, so one module initialisation in a process sees them all
 * as separate slots, and the same PIN files. One after another: ensureSoftHsmToken serialises per folder.
 */
export async function ensureSoftHsmTokens(stateDir: string, labels: readonly string[]): Promise<SoftHsmToken[]> {
  const tokens: SoftHsmToken[] = [];
  for (const label of labels) tokens.push(await ensureSoftHsmToken(stateDir, { label }));
  return tokens;
}
