import { Logger, type LoggerService } from '@nestjs/common';
import { currentCallLogContext } from '@kms/application';
import pino, { type DestinationStream, type Level } from 'pino';

export interface LogSettings {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** Extra pino paths whose values are replaced by [REDACTED] (KMS_LOG_REDACT). */
  redact: string[];
  /** The service name on every line. */
  service: string;
}

/** Never logged, whatever the configuration adds: credentials, tokens, PINs, key material. */
export const ALWAYS_REDACTED = [
  'client_secret',
  'clientSecret',
  'authorization',
  'token',
  'access_token',
  'password',
  'pin',
  'secret',
  'masterKey',
  'plaintext',
].flatMap((k) => [k, `*.${k}`]);

/**
 * Nest's LoggerService over pino: one JSON object per line (no colours, whatever the terminal),
 * the service name, and — for lines written while a call is served — its request id, RPC and
 * caller. Secrets are redacted by path.
 */
export class StructuredLogger implements LoggerService {
  constructor(readonly pino: pino.Logger) {}

  log(message: unknown, ...optional: unknown[]): void {
    this.write('info', message, optional);
  }

  error(message: unknown, ...optional: unknown[]): void {
    this.write('error', message, optional);
  }

  warn(message: unknown, ...optional: unknown[]): void {
    this.write('warn', message, optional);
  }

  debug(message: unknown, ...optional: unknown[]): void {
    this.write('debug', message, optional);
  }

  verbose(message: unknown, ...optional: unknown[]): void {
    this.write('trace', message, optional);
  }

  fatal(message: unknown, ...optional: unknown[]): void {
    this.write('fatal', message, optional);
  }

  private write(level: Level, message: unknown, optional: unknown[]): void {
    // Nest passes (message, [stack,] context): the last string is the context.
    const context = typeof optional.at(-1) === 'string' ? (optional.at(-1) as string) : undefined;
    const stack = optional.length > 1 && typeof optional[0] === 'string' ? optional[0] : undefined;
    const fields = { ...(context ? { context } : {}), ...(stack ? { stack } : {}) };
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) this.pino[level]({ ...fields, ...message });
    else this.pino[level](fields, message instanceof Error ? message.message : String(message));
  }
}

/** A structured logger writing to `destination` (standard output by default). */
export function createStructuredLogger(settings: LogSettings, destination?: DestinationStream): StructuredLogger {
  const logger = pino(
    {
      level: settings.level,
      base: { service: settings.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...ALWAYS_REDACTED, ...settings.redact], censor: '[REDACTED]' },
      mixin: () => {
        const call = currentCallLogContext();
        return call ? { requestId: call.requestId, rpc: call.rpc, actor: call.actor } : {};
      },
    },
    destination,
  );
  return new StructuredLogger(logger);
}

let installed: StructuredLogger | undefined;

/** Make the structured logger the one every `new Logger(context)` of the process writes through. */
export function installStructuredLogger(settings: LogSettings, destination?: DestinationStream): StructuredLogger {
  installed = createStructuredLogger(settings, destination);
  Logger.overrideLogger(installed);
  return installed;
}

/** The logger installed for this process, if any (the HTTP apps use it). */
export function installedLogger(): StructuredLogger | undefined {
  return installed;
}
