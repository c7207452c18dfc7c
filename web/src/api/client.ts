/**
 * The typed API client: `api.GET("/api/threads/", {params: ...})`.
 * Types come from schema.d.ts (generated from aihub's openapi.json by
 * `npm run gen:api`), so a changed endpoint breaks the build, not the user.
 */
import createClient from "openapi-fetch";
import { authFetch } from "./fetch";
import type { components, paths } from "./schema";

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://127.0.0.1" : window.location.origin,
  fetch: authFetch,
});

export type Schemas = components["schemas"];

/** aihub's /api error shape. */
export type ApiErrorBody = { error: true; error_message: string; error_type: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A readable message from whatever an /api error body holds. */
export function errorMessage(body: unknown, status: number): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.error_message === "string") return b.error_message;
    if (typeof b.detail === "string") return b.detail;
    if (Array.isArray(b.detail)) {
      return b.detail
        .map((d) => (d && typeof d === "object" && "msg" in d ? String(d.msg) : String(d)))
        .join("; ");
    }
    const err = b.error;
    if (err && typeof err === "object" && "message" in err) return String(err.message);
  }
  return `Request failed (${status})`;
}

/**
 * Unwrap an openapi-fetch result: the data, or an ApiError with the server's
 * message. Use inside TanStack Query functions.
 */
export async function unwrap<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await p;
  if (error !== undefined || !response.ok) {
    const type =
      error && typeof error === "object" && "error_type" in error
        ? String((error as ApiErrorBody).error_type)
        : null;
    throw new ApiError(response.status, errorMessage(error, response.status), type);
  }
  return data as T;
}
