import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearToken, useSession } from "../../api/session";
import LoginPage from "./LoginPage";

const PROVIDERS = [
  { name: "corp", label: "Corp SSO", kind: "oidc" },
  { name: "github", label: "GitHub", kind: "github" },
];

/** A stand-in of the server's /api/auth routes, recording what was asked. */
function serve(calls: string[]) {
  return vi.fn(async (input: Request) => {
    const path = new URL(input.url).pathname;
    calls.push(`${input.method} ${path}`);
    if (path === "/api/auth/providers") return Response.json(PROVIDERS);
    if (path === "/api/auth/refresh" && input.method === "POST") {
      return Response.json({ access_token: "from-sso", token_type: "bearer" });
    }
    return Response.json({ error: true, error_message: "no", error_type: "x" }, { status: 404 });
  });
}

function renderAt(entry: string) {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={[entry]}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/" element={<p>home</p>} />
          <Route path="/invitations/:token" element={<p>invitation</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => {
  clearToken();
  sessionStorage.clear();
  vi.unstubAllGlobals();
});

describe("LoginPage single sign-on", () => {
  it("shows one button per configured provider, leading to its login route", async () => {
    vi.stubGlobal("fetch", serve([]));
    renderAt("/login");
    const corp = await screen.findByRole("link", { name: "Sign in with Corp SSO" });
    expect(corp).toHaveAttribute("href", "/api/auth/oauth/corp/login");
    expect(screen.getByRole("link", { name: "Sign in with GitHub" })).toHaveAttribute(
      "href",
      "/api/auth/oauth/github/login",
    );
  });

  it("back from the provider, trades the refresh cookie for a token and goes home", async () => {
    const calls: string[] = [];
    vi.stubGlobal("fetch", serve(calls));
    renderAt("/login#sso=ok");
    await screen.findByText("home");
    expect(calls).toContain("POST /api/auth/refresh");
    await waitFor(() => expect(useSession.getState().token).toBe("from-sso"));
  });

  it("comes back to the page that sent the visitor to sign in (an invitation)", async () => {
    const calls: string[] = [];
    vi.stubGlobal("fetch", serve(calls));
    const first = renderAt("/login?next=%2Finvitations%2Fabc");
    const corp = await screen.findByRole("link", { name: "Sign in with Corp SSO" });
    // the provider's page would load here; keep the browser on ours
    corp.addEventListener("click", (e) => e.preventDefault());
    corp.click();
    first.unmount();
    // the provider sends the browser back to /login, without ?next=
    renderAt("/login#sso=ok");
    await screen.findByText("invitation");
    expect(calls).toContain("POST /api/auth/refresh");
    expect(sessionStorage.length).toBe(0);
  });
});
