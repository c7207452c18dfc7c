/**
 * fetch with the bearer token attached and 401 turned into a re-auth.
 *
 * Every API call goes through `authFetch` (the typed `api` client uses it,
 * and streaming helpers may call it directly). A 401 on a call made with a
 * token opens the re-auth dialog and retries the call once with the new
 * token; the caller never sees the expiry unless the user signs out.
 */
import { clearToken, getToken, waitForReauth } from "./session";

/** Calls that answer 401 for a wrong password, not for an expired session. */
const AUTH_PATHS = ["/api/auth/login", "/api/auth/token"];

function isAuthCall(url: string): boolean {
  const path = new URL(url, "http://x").pathname;
  return AUTH_PATHS.some((p) => path === p || path === `${p}/`);
}

function withToken(req: Request, token: string | null): Request {
  const headers = new Headers(req.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  else headers.delete("Authorization");
  return new Request(req, { headers });
}

export type FetchLike = (input: Request) => Promise<Response>;

/** Build the wrapper around a base fetch (tests pass their own server's fetch). */
export function makeAuthFetch(base: FetchLike = (r) => fetch(r)): FetchLike {
  return async (input: Request) => {
    const token = getToken();
    // keep an untouched copy: the body of the first attempt is consumed
    const spare = input.clone();
    const res = await base(withToken(input, token));
    if (res.status !== 401 || !token || isAuthCall(input.url)) return res;
    // The token may have been renewed by another call meanwhile.
    const current = getToken();
    const next = current && current !== token ? current : await waitForReauth();
    if (!next) return res;
    return base(withToken(spare, next));
  };
}

export const authFetch: FetchLike = makeAuthFetch();

/** Convenience for code that has a URL and init rather than a Request. */
export function apiFetch(url: string, init?: RequestInit): Promise<Response> {
  return authFetch(new Request(url, init));
}

/** Sign out everywhere in this browser. */
export function signOutLocally(): void {
  clearToken();
}
