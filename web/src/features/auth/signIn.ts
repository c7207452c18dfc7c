import { api, unwrap } from "../../api/client";
import { setToken } from "../../api/session";

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
