import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config-error';

/** The process environment, or a test's copy of it. */
export type Env = Record<string, string | undefined>;

/** One environment variable as it arrives: a string, or nothing. */
const raw = z.string().optional();
type Ctx = z.core.$RefinementCtx<unknown>;

/** Record `problem` against the variable being parsed (the issue's path names it). */
function fail(ctx: Ctx, problem: string): never {
  ctx.addIssue({ code: 'custom', message: problem });
  return z.NEVER as never;
}

/** Record `problem` against another variable of the same section (cross-variable rules). */
export function failOn(ctx: Ctx, variable: string, problem: string): never {
  ctx.addIssue({ code: 'custom', path: [variable], message: problem });
  return z.NEVER as never;
}

const unset = (v: string | undefined): v is undefined => v === undefined || v === '';

/**
 * Field schemas for environment variables. Each keeps the wording operators already know
 * (`must be a whole number from 1 to 64, got "0"`); the variable's name is the issue's path.
 */
export const envVar = {
  /** Whole number in [min, max]; unset or empty: `fallback`. */
  integer: <F extends number | null>(fallback: F, min: number, max: number) =>
    raw.transform((v, ctx): number | F => {
      if (unset(v)) return fallback;
      const n = Number(v);
      return Number.isInteger(n) && n >= min && n <= max ? n : fail(ctx, `must be a whole number from ${min} to ${max}, got "${v}"`);
    }),
  /** true/false (also 1/0, yes/no, on/off); unset or empty: `fallback`. */
  boolean: (fallback: boolean) =>
    raw.transform((v, ctx): boolean => {
      if (unset(v)) return fallback;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      return fail(ctx, `must be true or false, got "${v}"`);
    }),
  /** host:port (IPv6 in brackets); unset: `fallback`. */
  address: (fallback: string) =>
    raw.transform((v, ctx) => {
      const text = v ?? fallback;
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 0 || port > 65535) return fail(ctx, `must be host:port, got "${text}"`);
      return { host: m[1].replace(/^\[|\]$/g, ''), port };
    }),
  /** A URL with one of `protocols` (e.g. "redis:"); unset: `fallback`. */
  url: (fallback: string, protocols: string[]) =>
    raw.transform((v, ctx) => {
      const text = v ?? fallback;
      let u: URL;
      try {
        u = new URL(text);
      } catch {
        return fail(ctx, 'is not a valid URL');
      }
      return protocols.includes(u.protocol) ? text : fail(ctx, `must use ${protocols.join(' or ')}`);
    }),
  /** A URL with one of `protocols`; unset or empty: undefined (the default depends on other variables). */
  optionalUrl: (protocols: string[]) =>
    raw.transform((v, ctx): string | undefined => {
      if (unset(v)) return undefined;
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        return fail(ctx, 'is not a valid URL');
      }
      return protocols.includes(u.protocol) ? v : fail(ctx, `must use ${protocols.join(' or ')}`);
    }),
  /** One of `choices`; unset or empty: `fallback`. */
  choice: <T extends string>(fallback: T, choices: readonly T[]) =>
    raw.transform((v, ctx): T => {
      if (unset(v)) return fallback;
      return (choices as readonly string[]).includes(v) ? (v as T) : fail(ctx, `must be one of ${choices.join(', ')}`);
    }),
  /** Free text; unset or empty: `fallback`. */
  text: <F extends string | null | undefined>(fallback: F) => raw.transform((v): string | F => (unset(v) ? fallback : v)),
  /** A path resolved against `cwd`; unset or empty: undefined. */
  path: (cwd: string) => raw.transform((v) => (unset(v) ? undefined : resolve(cwd, v))),
  /** `[A-Za-z0-9_.-]{1,64}` (queue names and prefixes); unset: `fallback`. */
  name: (fallback: string) =>
    raw.transform((v, ctx) => {
      const text = v ?? fallback;
      return /^[A-Za-z0-9_.-]{1,64}$/.test(text) ? text : fail(ctx, 'must be 1 to 64 letters, digits, ".", "_" or "-"');
    }),
  /** A positive number (not only whole); unset or empty: `fallback`. */
  positiveNumber: (fallback: number) =>
    raw.transform((v, ctx) => {
      if (unset(v)) return fallback;
      const n = Number(v);
      return Number.isFinite(n) && n > 0 ? n : fail(ctx, `must be a positive number, got "${v}"`);
    }),
  /** A whole number >= min; unset or empty: `fallback`. */
  atLeast: (fallback: number, min: number) =>
    raw.transform((v, ctx) => {
      if (unset(v)) return fallback;
      const n = Number(v);
      return Number.isInteger(n) && n >= min ? n : fail(ctx, `must be an integer >= ${min}`);
    }),
  /** Comma-separated host:port list, blanks ignored; unset: none. */
  brokers: () =>
    raw.transform((v, ctx) => {
      const brokers = (v ?? '')
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== '');
      const bad = brokers.find((b) => !/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(b));
      return bad === undefined ? brokers : fail(ctx, `"${bad}" is not host:port`);
    }),
  /** A Kafka topic name (Kafka's own rule); unset or empty: `fallback`. */
  topic: (fallback: string) =>
    raw.transform((v, ctx) => {
      const topic = unset(v) ? fallback : v;
      return /^[A-Za-z0-9._-]{1,249}$/.test(topic) ? topic : fail(ctx, `"${topic}" is not a valid Kafka topic name`);
    }),
};

/**
 * Parse `env` with a section's schema. The first problem becomes a ConfigError naming its variable,
 * so a bad value stops the boot with one clear line (STYLE.md 10).
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
}
