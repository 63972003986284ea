import { ConfigError } from '@kms/config';

/** A whole-number BENCH_* setting from the environment, `fallback` when unset; out of range stops the bench naming the variable. */
export function integerSetting(variable: string, fallback: number, min: number, max: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(variable, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}
