import { UserError } from '../util/errors.js';

/** A problem with input data a user supplied (file missing, corrupt, malformed): reported as one line, exit code 1. */
export class DataError extends UserError {
  constructor(message: string) {
    super(message, 1);
  }
}
