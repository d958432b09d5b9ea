/** The JSON-RPC 2.0 envelope: request and response shapes and their validation. */
import { z } from "zod";

export type JsonRpcId = string | number | null;

/** A request the server accepted as well formed; `id` is absent for notifications. */
export interface JsonRpcRequest {
  readonly jsonrpc: "2.0";
  readonly method: string;
  readonly params?: readonly unknown[] | Readonly<Record<string, unknown>>;
  readonly id?: JsonRpcId;
}

export interface JsonRpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

export type JsonRpcResponse =
  | { readonly jsonrpc: "2.0"; readonly id: JsonRpcId; readonly result: unknown }
  | { readonly jsonrpc: "2.0"; readonly id: JsonRpcId; readonly error: JsonRpcErrorObject };

const idSchema = z.union([z.string(), z.number().finite(), z.null()]);

export const requestSchema = z.strictObject({
  jsonrpc: z.literal("2.0"),
  method: z.string().min(1),
  params: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  id: idSchema.optional(),
});

export const errorObjectSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});

export const responseSchema = z.union([
  z.object({ jsonrpc: z.literal("2.0"), id: idSchema, result: z.unknown() }),
  z.object({ jsonrpc: z.literal("2.0"), id: idSchema, error: errorObjectSchema }),
]);

/** The id of a request-like value, if it has a valid one; invalid requests are answered with id null. */
export function idOf(value: unknown): JsonRpcId {
  if (typeof value !== "object" || value === null || !("id" in value)) return null;
  const parsed = idSchema.safeParse(value.id);
  return parsed.success ? parsed.data : null;
}

/** JSON.stringify that sends bigints as decimal strings (JSON has no integers beyond 2^53). */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
