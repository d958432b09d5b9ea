/**
 * A value that must never reach a log, an error message or a JSON document. Only `reveal()` gives it
 * out; printing, inspecting or serialising the wrapper shows "[redacted]".
 */
import { inspect } from "node:util";

export class Secret<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "Secret([redacted])";
  }
}
