/**
 * The session token and the re-auth hand-off.
 *
 * The token lives in localStorage under `aihub.token` (contract). When a call
 * answers 401 while a token was in use, the session has expired: the wrapper
 * asks for a re-auth (the dialog in features/auth listens to `useSession`)
 * and waits; once the user signs in again the pending calls are retried with
 * the new token, so nothing on screen is lost.
 */
import { create } from "zustand";

export const TOKEN_KEY = "aihub.token";

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

type Waiter = { resolve: (token: string | null) => void };

export type SessionState = {
  token: string | null;
  /** true while the re-auth dialog should be shown */
  expired: boolean;
  /** the user signed out (no "come back here" link on the sign-in page) */
  signedOut: boolean;
};

export const useSession = create<SessionState>(() => ({
  token: readToken(),
  expired: false,
  signedOut: false,
}));

let waiters: Waiter[] = [];

export function getToken(): string | null {
  return useSession.getState().token;
}

/** Store a fresh token (sign in / re-auth) and release every call waiting for it. */
export function setToken(token: string): void {
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // private mode: the token still lives in memory for this tab
  }
  useSession.setState({ token, expired: false, signedOut: false });
  const pending = waiters;
  waiters = [];
  for (const w of pending) w.resolve(token);
}

/** Forget the token; calls waiting for a re-auth give up with their 401. */
export function clearToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored
  }
  useSession.setState({ token: null, expired: false, signedOut: true });
  const pending = waiters;
  waiters = [];
  for (const w of pending) w.resolve(null);
}

/**
 * Mark the session expired and wait for the user to sign in again.
 * Resolves with the new token, or null if they signed out instead.
 */
export function waitForReauth(): Promise<string | null> {
  useSession.setState({ expired: true });
  return new Promise((resolve) => {
    waiters.push({ resolve });
  });
}

/** Another tab signed in or out: follow it. */
export function followOtherTabs(): () => void {
  const onStorage = (e: StorageEvent) => {
    if (e.key !== TOKEN_KEY) return;
    if (e.newValue) setToken(e.newValue);
    else if (!useSession.getState().expired) useSession.setState({ token: null });
  };
  window.addEventListener("storage", onStorage);
  return () => window.removeEventListener("storage", onStorage);
}
