import { act, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { Dialog } from "./Dialog";
import { Menu } from "./Menu";

function DialogHarness() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Open
      </button>
      <Dialog open={open} title="Rename" onClose={() => setOpen(false)}>
        <input aria-label="First" />
        <input aria-label="Wanted" data-autofocus />
      </Dialog>
    </>
  );
}

describe("Dialog", () => {
  it("focuses the marked control, is named by its title, and gives focus back on close", () => {
    render(<DialogHarness />);
    const opener = screen.getByRole("button", { name: "Open" });
    opener.focus();
    fireEvent.click(opener);
    const dialog = screen.getByRole("dialog", { name: "Rename" });
    expect(dialog).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Wanted" })).toHaveFocus();
    fireEvent.click(screen.getByRole("button", { name: "Close dialog" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(opener).toHaveFocus();
  });

  it("closes on Escape (the dialog's cancel event) when dismissable", () => {
    const onClose = vi.fn();
    render(
      <Dialog open title="Rename" onClose={onClose}>
        <input aria-label="Title" />
      </Dialog>,
    );
    fireEvent(screen.getByRole("dialog"), new Event("cancel", { cancelable: true }));
    expect(onClose).toHaveBeenCalledOnce();
  });

  it("ignores Escape when it must be answered", () => {
    const onClose = vi.fn();
    render(
      <Dialog open title="Session expired" onClose={onClose} dismissable={false}>
        <input aria-label="Password" />
      </Dialog>,
    );
    fireEvent(screen.getByRole("dialog"), new Event("cancel", { cancelable: true }));
    expect(onClose).not.toHaveBeenCalled();
    expect(screen.queryByRole("button", { name: "Close dialog" })).toBeNull();
  });
});

describe("Menu", () => {
  it("opens with the keyboard, moves with arrows, runs an item and closes back to its button", () => {
    const rename = vi.fn();
    const del = vi.fn();
    render(
      <Menu
        label="Actions for A"
        icon="…"
        items={[
          { label: "Rename", onSelect: rename },
          { label: "Delete", onSelect: del, danger: true },
        ]}
      />,
    );
    const button = screen.getByRole("button", { name: "Actions for A" });
    expect(button).toHaveAttribute("aria-expanded", "false");
    fireEvent.keyDown(button, { key: "ArrowDown" });
    const menu = screen.getByRole("menu", { name: "Actions for A" });
    expect(screen.getByRole("menuitem", { name: "Rename" })).toHaveFocus();
    fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(screen.getByRole("menuitem", { name: "Delete" })).toHaveFocus();
    fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(screen.getByRole("menuitem", { name: "Rename" })).toHaveFocus();
    fireEvent.keyDown(menu, { key: "End" });
    act(() => screen.getByRole("menuitem", { name: "Delete" }).click());
    expect(del).toHaveBeenCalledOnce();
    expect(rename).not.toHaveBeenCalled();
    expect(screen.queryByRole("menu")).toBeNull();
    expect(button).toHaveFocus();
  });

  it("closes on Escape", () => {
    render(<Menu label="User menu" icon="…" items={[{ label: "Sign out", onSelect: () => {} }]} />);
    fireEvent.click(screen.getByRole("button", { name: "User menu" }));
    fireEvent.keyDown(screen.getByRole("menu"), { key: "Escape" });
    expect(screen.queryByRole("menu")).toBeNull();
  });
});
