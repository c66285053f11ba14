/** A problem with input data a user supplied (file missing, corrupt, malformed): reported as one line, exit code 1. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
