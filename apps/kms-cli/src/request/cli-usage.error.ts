/** A request or command line the CLI refuses before anything is sent; `field` names the culprit. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
