// What the argument rules say about one call (policy/arguments.ts decides it).

/** One check of one value: `rule` is the JSON path of the check in the rules file. */
export interface ArgumentDecision {
  readonly rule: string;
  /** Where the value is, array indices filled in; never the value itself. */
  readonly pointer: string;
  readonly allow: boolean;
  /** The kind of match or mismatch, never the value. */
  readonly reason: string;
  /** The normalized value, only when decisions were asked for (explain): it may be a secret elsewhere. */
  readonly value?: string;
}

export type ArgumentVerdict =
  | {
      readonly allow: true;
      /** What to forward: the caller's own object when nothing was normalized, else a copy with the normalized values. */
      readonly args: Record<string, unknown>;
      /** Empty unless decisions were asked for. */
      readonly decisions: readonly ArgumentDecision[];
    }
  | { readonly allow: false; readonly refusal: ArgumentDecision; readonly decisions: readonly ArgumentDecision[] };
