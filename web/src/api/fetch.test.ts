import { afterEach, describe, expect, it } from "vitest";
import { makeAuthFetch } from "./fetch";
import { clearToken, setToken, TOKEN_KEY, useSession } from "./session";

/** A tiny server: accepts only `good` as the bearer token, echoes the body. */
function server(log: { auth: string | null; body: string }[]) {
  return async (req: Request) => {
    const auth = req.headers.get("Authorization");
    log.push({ auth, body: req.method === "GET" ? "" : await req.text() });
    if (new URL(req.url).pathname === "/api/auth/login") {
      return new Response(JSON.stringify({ error: true, error_message: "bad password" }), {
        status: 401,
      });
    }
    if (auth !== "Bearer good") return new Response("{}", { status: 401 });
    return new Response(JSON.stringify({ ok: true }), { status: 200 });
  };
}

afterEach(() => clearToken());

describe("authFetch", () => {
  it("attaches the stored bearer token", async () => {
    setToken("good");
    const log: { auth: string | null; body: string }[] = [];
    const f = makeAuthFetch(server(log));
    const res = await f(new Request("http://h/api/users/me"));
    expect(res.status).toBe(200);
    expect(log[0]?.auth).toBe("Bearer good");
    expect(localStorage.getItem(TOKEN_KEY)).toBe("good");
  });

  it("on 401 waits for a re-auth and retries the same request, body included", async () => {
    setToken("stale");
    const log: { auth: string | null; body: string }[] = [];
    const f = makeAuthFetch(server(log));
    const pending = f(
      new Request("http://h/api/threads/", { method: "POST", body: '{"title":"kept"}' }),
    );
    // the dialog opens and nothing has failed yet
    await waitUntil(() => useSession.getState().expired);
    expect(useSession.getState().token).toBe("stale");
    setToken("good");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(log.map((l) => l.auth)).toEqual(["Bearer stale", "Bearer good"]);
    expect(log[1]?.body).toBe('{"title":"kept"}');
    expect(useSession.getState().expired).toBe(false);
  });

  it("gives the 401 back when the user signs out instead", async () => {
    setToken("stale");
    const f = makeAuthFetch(server([]));
    const pending = f(new Request("http://h/api/threads/"));
    await waitUntil(() => useSession.getState().expired);
    clearToken();
    expect((await pending).status).toBe(401);
  });

  it("does not open the dialog for a wrong password or without a session", async () => {
    const f = makeAuthFetch(server([]));
    expect((await f(new Request("http://h/api/users/me"))).status).toBe(401);
    setToken("stale");
    const res = await f(new Request("http://h/api/auth/login", { method: "POST", body: "{}" }));
    expect(res.status).toBe(401);
    expect(useSession.getState().expired).toBe(false);
  });
});

async function waitUntil(cond: () => boolean) {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(cond()).toBe(true);
}
