/** A configuration problem, naming the environment variable at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

/** A value that must never be logged. `toJSON`/`toString` hide it. */
export class Secret<T> {
  constructor(private readonly value: T) {}
  reveal(): T {
    return this.value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
}
