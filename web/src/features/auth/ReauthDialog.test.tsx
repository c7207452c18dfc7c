import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { setToken, useSession, waitForReauth } from "../../api/session";
import { ReauthDialog } from "./ReauthDialog";

function renderDialog() {
  const qc = new QueryClient();
  qc.setQueryData(["me"], { username: "ann" });
  return render(
    <QueryClientProvider client={qc}>
      <p>
        <label>
          Draft <textarea defaultValue="typed text" />
        </label>
      </p>
      <ReauthDialog />
    </QueryClientProvider>,
  );
}

describe("ReauthDialog", () => {
  it("appears over the page when a call needs a new sign-in, without touching the page", async () => {
    setToken("old");
    renderDialog();
    expect(screen.queryByRole("dialog")).toBeNull();
    let pending!: Promise<string | null>;
    act(() => {
      pending = waitForReauth();
    });
    const dialog = screen.getByRole("dialog", { name: "Session expired" });
    expect(dialog).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Username or email" })).toHaveValue("ann");
    expect(screen.getByLabelText("Password")).toHaveFocus();
    expect(screen.getByRole("textbox", { name: "Draft" })).toHaveValue("typed text");

    // another tab (or this one) signs in: the dialog goes, the call gets the token
    act(() => setToken("fresh"));
    await expect(pending).resolves.toBe("fresh");
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("signing out instead gives the waiting calls up", async () => {
    setToken("old");
    renderDialog();
    let pending!: Promise<string | null>;
    act(() => {
      pending = waitForReauth();
    });
    fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
    await expect(pending).resolves.toBeNull();
    expect(useSession.getState()).toMatchObject({ token: null, expired: false, signedOut: true });
  });
});
