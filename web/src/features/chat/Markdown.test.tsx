import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";

describe("Markdown while streaming", () => {
  it("keeps finished blocks' DOM untouched and re-renders only the tail", () => {
    const first = "First paragraph, **finished**.\n\n";
    const { container, rerender } = render(<Markdown text={`${first}Second is gro`} streaming />);
    const blocks = () => [...container.querySelectorAll(".md-block")];
    expect(blocks()).toHaveLength(2);
    const done = blocks()[0];
    const doneHtml = done?.innerHTML;
    // Something that would notice a re-render writing innerHTML again.
    done?.setAttribute("data-seen", "1");
    const marker = done?.firstChild;

    rerender(<Markdown text={`${first}Second is growing.\n\nThird`} streaming />);
    expect(blocks()).toHaveLength(3);
    expect(blocks()[0]).toBe(done);
    expect(blocks()[0]?.firstChild).toBe(marker);
    expect(blocks()[0]?.innerHTML).toBe(doneHtml);
    expect(blocks()[1]?.textContent).toContain("Second is growing.");
    expect(blocks()[2]?.textContent).toBe("Third\n");

    rerender(<Markdown text={`${first}Second is growing.\n\nThird and last.`} />);
    expect(blocks()[0]?.firstChild).toBe(marker);
    expect(container.querySelector("strong")?.textContent).toBe("finished");
  });
});
