import { api, type Schemas, unwrap } from "../../api/client";
import { setToken } from "../../api/session";

export type SsoProvider = Schemas["ProviderRead"];

/** Sign in with a username or an e-mail address; stores the token. */
export async function signIn(login: string, password: string): Promise<void> {
  const who = login.trim();
  const body = who.includes("@") ? { email: who, password } : { username: who, password };
  const tok = await unwrap(api.POST("/api/auth/login", { body }));
  setToken(tok.access_token);
}

export async function register(email: string, username: string, password: string): Promise<void> {
  await unwrap(
    api.POST("/api/users/", { body: { email: email.trim(), username: username.trim(), password } }),
  );
  await signIn(username, password);
}

/** The sign-in providers to show a button for (public). */
export async function listProviders(): Promise<SsoProvider[]> {
  return unwrap(api.GET("/api/auth/providers"));
}

/** Where a provider's button leads: the server redirects to the provider. */
export function providerLoginUrl(name: string): string {
  return `/api/auth/oauth/${encodeURIComponent(name)}/login`;
}

const NEXT_KEY = "aihub.sso-next";

/**
 * Where to go after single sign-on (e.g. an invitation link): the provider
 * sends the browser back to /login, without our ?next=, so this tab keeps it.
 */
export function rememberSsoNext(next: string): void {
  try {
    if (next === "/") sessionStorage.removeItem(NEXT_KEY);
    else sessionStorage.setItem(NEXT_KEY, next);
  } catch {
    // storage off: back to the home page after sign-in
  }
}

/** The page remembered before single sign-on, or null; `forget` drops it. */
export function ssoNext(forget = false): string | null {
  try {
    const next = sessionStorage.getItem(NEXT_KEY);
    if (forget) sessionStorage.removeItem(NEXT_KEY);
    return next;
  } catch {
    return null;
  }
}

/**
 * After single sign-on the server has set the HttpOnly refresh cookie and sent
 * the browser to `/login#sso=ok`: trade the cookie for an access token.
 */
export async function finishSsoSignIn(): Promise<void> {
  const tok = await unwrap(api.POST("/api/auth/refresh", {}));
  setToken(tok.access_token);
}

/**
 * End this browser's session on the server too (best effort, not through the
 * re-auth wrapper: a 401 here must not open the dialog).
 */
export async function signOutOnServer(token: string | null): Promise<void> {
  if (!token) return;
  try {
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      keepalive: true,
    });
  } catch {
    // offline: the local sign-out still happens
  }
}
