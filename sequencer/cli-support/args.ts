/** Parsers for command-line option values (commander's custom option processing). */
import { InvalidArgumentError } from "commander";

/** A whole number above zero, e.g. a timeout in milliseconds; anything else is a usage error. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}
