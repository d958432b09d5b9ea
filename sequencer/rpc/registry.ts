/**
 * The method registry: every method declares the schema of its params (as named fields, with an order
 * that also admits positional arrays) and a handler that receives the parsed, typed params.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { RpcError, veilError } from "./errors";

/** What a handler knows about the call besides its params. */
export interface CallContext {
  readonly requestId: string;
  /** The client's IP address, for rate limiting and logs (behind a trusted proxy, from X-Forwarded-For). */
  readonly clientId: string;
  readonly log: Logger;
  /** How many members already forwarded this call (header `x-veil-forward-hops`; 0 from clients). */
  readonly forwardHops?: number;
}

type Shape = Record<string, z.ZodType>;

export interface MethodDefinition<S extends Shape, R> {
  /** Params by name; the key order is also the order of positional params. */
  readonly params: S;
  readonly handler: (params: z.infer<z.ZodObject<S>>, ctx: CallContext) => R | Promise<R>;
  /** One line for the docs and `rpc_methods`. */
  readonly description?: string;
  /**
   * A rule across fields (e.g. "exactly one of index and encTxHash"), checked once every field parsed; a
   * call that breaks it is INVALID_PARAMS with `message`.
   */
  readonly refine?: {
    readonly check: (params: z.infer<z.ZodObject<S>>) => boolean;
    readonly message: string;
  };
}

interface RegisteredMethod {
  readonly names: readonly string[];
  readonly schema: z.ZodType<Record<string, unknown>>;
  readonly handler: (params: Record<string, unknown>, ctx: CallContext) => unknown;
  readonly description: string;
}

const METHOD_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Formats the first issues of a zod error as `field: problem; field: problem`, naming each field. */
export function describeIssues(error: z.ZodError, fieldName: (path: readonly PropertyKey[]) => string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      if (issue.code === "unrecognized_keys") {
        const where = issue.path.length === 0 ? "" : ` in ${fieldName(issue.path)}`;
        return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}${where}`;
      }
      return issue.path.length === 0 ? issue.message : `${fieldName(issue.path)}: ${issue.message}`;
    })
    .join("; ");
}

export class MethodRegistry {
  private readonly methods = new Map<string, RegisteredMethod>();
  /** Methods announced but not registered yet, with why they cannot be served now. */
  private readonly announced = new Map<string, string>();

  /**
   * Announces methods that register later (a node's API, once it has read its cluster from L1). Until
   * one registers, a call to it fails with UNAVAILABLE and `why`, not METHOD_NOT_FOUND: the client is
   * early, not wrong, and should retry.
   */
  announce(names: readonly string[], why: string): this {
    for (const name of names) {
      if (!METHOD_NAME.test(name)) throw new Error(`method name "${name}" is not snake_case`);
      if (!this.methods.has(name)) this.announced.set(name, why);
    }
    return this;
  }

  /** The announced methods that have not registered yet (empty once everything announced is served). */
  get pending(): readonly string[] {
    return [...this.announced.keys()];
  }

  /** Registers a snake_case method; registering a name twice is a programming error. */
  register<S extends Shape, R>(name: string, definition: MethodDefinition<S, R>): this {
    if (!METHOD_NAME.test(name)) throw new Error(`method name "${name}" is not snake_case`);
    if (this.methods.has(name)) throw new Error(`method "${name}" is already registered`);
    this.announced.delete(name);
    const fields = z.strictObject(definition.params);
    const { refine } = definition;
    this.methods.set(name, {
      names: Object.keys(definition.params),
      schema: refine === undefined ? fields : fields.refine(refine.check, { message: refine.message }),
      handler: definition.handler as RegisteredMethod["handler"],
      description: definition.description ?? "",
    });
    return this;
  }

  has(name: string): boolean {
    return this.methods.has(name);
  }

  /** Registered or announced: a name worth its own metrics label. */
  knows(name: string): boolean {
    return this.methods.has(name) || this.announced.has(name);
  }

  list(): { name: string; params: readonly string[]; description: string }[] {
    return [...this.methods.entries()].map(([name, m]) => ({ name, params: m.names, description: m.description }));
  }

  /**
   * Validates the params of a call and runs its handler. Throws RpcError METHOD_NOT_FOUND, UNAVAILABLE
   * (announced, not registered yet) or INVALID_PARAMS (with a message naming the field); handler errors
   * propagate unchanged.
   */
  async invoke(name: string, rawParams: unknown, ctx: CallContext): Promise<unknown> {
    // Own-property lookup only: "constructor" or "__proto__" must not resolve to anything.
    const method = this.methods.get(name);
    if (method === undefined) {
      const why = this.announced.get(name);
      if (why !== undefined) throw veilError.unavailable(`${name} is not served yet: ${why}`);
      throw new RpcError("METHOD_NOT_FOUND", `method "${name}" does not exist`);
    }
    const named = this.toNamed(method, rawParams);
    const parsed = method.schema.safeParse(named);
    if (!parsed.success) {
      const positional = Array.isArray(rawParams);
      const fieldName = (path: readonly PropertyKey[]): string => {
        const [head, ...rest] = path;
        const index = typeof head === "string" ? method.names.indexOf(head) : -1;
        const base = positional && index >= 0 ? `params[${index}] (${String(head)})` : String(head);
        return [base, ...rest.map(String)].join(".");
      };
      throw new RpcError("INVALID_PARAMS", `invalid params: ${describeIssues(parsed.error, fieldName)}`);
    }
    return await method.handler(parsed.data, ctx);
  }

  private toNamed(method: RegisteredMethod, rawParams: unknown): unknown {
    if (rawParams === undefined) return {};
    if (!Array.isArray(rawParams)) return rawParams;
    if (rawParams.length > method.names.length) {
      throw new RpcError(
        "INVALID_PARAMS",
        `invalid params: expected at most ${method.names.length} positional params (${method.names.join(", ")}), got ${rawParams.length}`,
      );
    }
    const named: Record<string, unknown> = {};
    rawParams.forEach((value: unknown, i) => {
      const key = method.names[i];
      if (key !== undefined) named[key] = value;
    });
    return named;
  }
}
