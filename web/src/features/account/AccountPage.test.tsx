import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearToken, setToken, useSession } from "../../api/session";
import AccountPage from "./AccountPage";

const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";

/** A stand-in of the session routes, recording what was asked. */
function serve(calls: string[]) {
  let sessions = [
    { id: 1, current: true, user_agent: UA, ip: "10.0.0.1", method: "password" },
    { id: 2, current: false, user_agent: "curl/8.5", ip: "10.0.0.2", method: "github" },
  ].map((s) => ({
    ...s,
    created_at: "2026-12-01T10:00:00Z",
    last_used_at: "2026-12-05T08:00:00Z",
    expires_at: "2027-01-01T00:00:00Z",
  }));
  return vi.fn(async (input: Request) => {
    const url = new URL(input.url);
    calls.push(`${input.method} ${url.pathname}${url.search}`);
    if (url.pathname === "/api/users/me") {
      return Response.json({ id: 5, username: "ann", email: "ann@example.com", role: "user" });
    }
    if (url.pathname === "/api/auth/sessions") return Response.json(sessions);
    const revoke = url.pathname.match(/^\/api\/auth\/sessions\/(\d+)$/);
    if (revoke && input.method === "DELETE") {
      sessions = sessions.filter((s) => s.id !== Number(revoke[1]));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/api/auth/logout") return new Response(null, { status: 204 });
    return Response.json({ error: true, error_message: "no", error_type: "x" }, { status: 404 });
  });
}

function renderPage() {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={["/account"]}>
        <Routes>
          <Route path="/account" element={<AccountPage />} />
          <Route path="/login" element={<p>sign-in page</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => {
  clearToken();
  vi.unstubAllGlobals();
});

describe("AccountPage sessions", () => {
  it("lists sessions, marks this device, and signs another one out", async () => {
    const calls: string[] = [];
    vi.stubGlobal("fetch", serve(calls));
    setToken("t");
    renderPage();
    const table = await screen.findByRole("table", { name: "Active sessions" });
    const mine = within(table).getByRole("row", { name: /Chrome on Linux/ });
    expect(mine).toHaveTextContent("this device");
    expect(within(table).getByRole("row", { name: /curl/ })).not.toHaveTextContent("this device");
    fireEvent.click(screen.getByRole("button", { name: "Sign out curl, session 2" }));
    const dialog = await screen.findByRole("dialog", { name: "Sign out this session?" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Sign out session" }));
    // the list is asked again and the session is gone from it
    await waitFor(() =>
      expect(within(table).queryByRole("row", { name: /curl/ })).not.toBeInTheDocument(),
    );
    expect(calls).toContain("DELETE /api/auth/sessions/2");
    expect(useSession.getState().token).toBe("t");
  });

  it("signs out everywhere and goes to the sign-in page", async () => {
    const calls: string[] = [];
    vi.stubGlobal("fetch", serve(calls));
    setToken("t");
    renderPage();
    await screen.findByRole("table", { name: "Active sessions" });
    fireEvent.click(screen.getByRole("button", { name: "Sign out everywhere" }));
    const dialog = await screen.findByRole("dialog", { name: "Sign out everywhere?" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Sign out all sessions" }));
    await screen.findByText("sign-in page");
    expect(calls).toContain("POST /api/auth/logout?everywhere=true");
    expect(useSession.getState().token).toBeNull();
  });
});
