import type { ConfigIssue } from './types.js';

/** A config file that cannot be used. `issues` holds every error (and warning) found, with JSON paths. */
export class ConfigError extends Error {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, message: string, issues: readonly ConfigIssue[] = []) {
    super(message);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}
