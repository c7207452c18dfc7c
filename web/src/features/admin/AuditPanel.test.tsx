import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearToken, setToken } from "../../api/session";
import { AuditPanel } from "./AuditPanel";

function entry(id: number, action: string) {
  return {
    id,
    created_at: "2026-12-05T08:00:00Z",
    actor_id: 7,
    action,
    target_type: "team",
    target_id: "3",
    ip: "10.0.0.9",
    user_agent: null,
    detail: { name: "Research" },
  };
}

/** A stand-in of /api/admin/audit: 120 entries, paged, recording each query. */
function serve(queries: URLSearchParams[]) {
  return vi.fn(async (input: Request) => {
    const url = new URL(input.url);
    queries.push(url.searchParams);
    const skip = Number(url.searchParams.get("skip"));
    const limit = Number(url.searchParams.get("limit"));
    const total = url.searchParams.get("action") ? 1 : 120;
    const rows = Array.from({ length: Math.max(0, Math.min(limit, total - skip)) }, (_, i) =>
      entry(1000 - skip - i, url.searchParams.get("action") ?? "auth.login.success"),
    );
    return Response.json(rows, { headers: { "X-Total-Count": String(total) } });
  });
}

function renderPanel() {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <AuditPanel />
    </QueryClientProvider>,
  );
}

afterEach(() => {
  clearToken();
  vi.unstubAllGlobals();
});

describe("AuditPanel", () => {
  it("pages by the total the server counts", async () => {
    const queries: URLSearchParams[] = [];
    vi.stubGlobal("fetch", serve(queries));
    setToken("t");
    renderPanel();
    await screen.findByText("Page 1 of 3 (120 entries)");
    const table = screen.getByRole("table", { name: "Audit log, newest first" });
    expect(within(table).getAllByRole("row")).toHaveLength(51);
    expect(screen.getByRole("button", { name: "Newer" })).toBeDisabled();
    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    fireEvent.click(await screen.findByRole("button", { name: "Older" }));
    await screen.findByText("Page 3 of 3 (120 entries)");
    expect(screen.getByRole("button", { name: "Older" })).toBeDisabled();
    expect(queries.at(-1)?.get("skip")).toBe("100");
  });

  it("sends the filters and starts again at the first page", async () => {
    const queries: URLSearchParams[] = [];
    vi.stubGlobal("fetch", serve(queries));
    setToken("t");
    renderPanel();
    await screen.findByText("Page 1 of 3 (120 entries)");
    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    await screen.findByText("Page 2 of 3 (120 entries)");
    fireEvent.change(screen.getByLabelText("Action"), { target: { value: "team.*" } });
    fireEvent.change(screen.getByLabelText("Actor (user id)"), { target: { value: "7" } });
    await screen.findByText("Page 1 of 1 (1 entries)");
    const last = queries.at(-1);
    expect(last?.get("action")).toBe("team.*");
    expect(last?.get("actor")).toBe("7");
    expect(last?.get("skip")).toBe("0");
  });

  it("explains a bad actor instead of asking the server", async () => {
    const queries: URLSearchParams[] = [];
    vi.stubGlobal("fetch", serve(queries));
    setToken("t");
    renderPanel();
    await screen.findByText("Page 1 of 3 (120 entries)");
    const asked = queries.length;
    fireEvent.change(screen.getByLabelText("Actor (user id)"), { target: { value: "bob" } });
    expect(await screen.findByRole("alert")).toHaveTextContent("Actor: a user id");
    expect(queries.length).toBe(asked);
  });
});
