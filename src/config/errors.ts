import { UserError } from '../util/errors.js';

/** A pipeline file that cannot be used, with the position of the problem: printed as `file:line:col: message`, exit 2. */
export class ConfigError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${col}: ${detail}`, 2);
  }
}

export { UsageError } from '../util/errors.js';
