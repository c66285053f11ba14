/** A pipeline file that cannot be used, with the position of the problem: printed as `file:line:col: message`, exit 2. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${col}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** A command-line value that cannot work (printed as one line, exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
