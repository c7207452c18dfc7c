import { describe, expect, it } from "vitest";
import { BlockSplitter, extractMath, hasMath, splitBlocks } from "./blocks";

describe("splitBlocks", () => {
  it("splits at blank lines and around code fences, keeping blank lines inside fences", () => {
    const text = "# Title\n\nPara one\nstill one\n\n```py\nx = 1\n\ny = 2\n```\nafter\n\nlast";
    const blocks = splitBlocks(text);
    expect(blocks.map((b) => b.text)).toEqual([
      "# Title\n\n",
      "Para one\nstill one\n\n",
      "```py\nx = 1\n\ny = 2\n```\n",
      "after\n\n",
      "last",
    ]);
    expect(blocks.map((b) => b.text).join("")).toBe(text);
    expect(blocks.every((b) => b.done)).toBe(true);
  });

  it("keeps $$ math and indented list continuations in one block", () => {
    const text = "$$\na\n\nb\n$$\n- item\n\n  more of item\n\nnext";
    expect(splitBlocks(text).map((b) => b.text)).toEqual([
      "$$\na\n\nb\n$$\n",
      "- item\n\n  more of item\n\n",
      "next",
    ]);
  });

  it("marks only the tail of a streaming text unfinished; an open fence stays one block", () => {
    const blocks = splitBlocks("intro\n\n```js\nlet a\n\nlet b", true);
    expect(blocks.map((b) => [b.text, b.done])).toEqual([
      ["intro\n\n", true],
      ["```js\nlet a\n\nlet b", false],
    ]);
  });
});

describe("BlockSplitter", () => {
  it("gives the same blocks as a one-shot split for every prefix, reusing finished ones", () => {
    const full = "Hello there.\n\n```ts\nconst x = 1;\n```\n\nA list:\n\n- a\n- b\n\nDone $x^2$.";
    const s = new BlockSplitter();
    let prev = s.update("", true);
    for (let n = 1; n <= full.length; n++) {
      const text = full.slice(0, n);
      const blocks = s.update(text, true);
      expect(blocks.map((b) => b.text)).toEqual(splitBlocks(text, true).map((b) => b.text));
      // A finished block that was already there is the very same object.
      for (const b of blocks.slice(0, -1)) {
        const old = prev.find((p) => p.key === b.key && p.done);
        if (old && old.text === b.text) expect(b).toBe(old);
      }
      prev = blocks;
    }
    const final = s.update(full, false);
    expect(final.every((b) => b.done)).toBe(true);
  });

  it("starts over when the text is replaced", () => {
    const s = new BlockSplitter();
    s.update("one\n\ntwo", false);
    expect(s.update("other", false).map((b) => b.text)).toEqual(["other"]);
  });
});

describe("extractMath", () => {
  it("pulls display and inline formulas, leaving placeholders", () => {
    const r = extractMath("Energy $E=mc^2$ and\n$$\\int_0^1 x\\,dx$$ and \\(a+b\\) or \\[c\\]");
    expect(r.math).toEqual([
      { tex: "E=mc^2", display: false },
      { tex: "\\int_0^1 x\\,dx", display: true },
      { tex: "a+b", display: false },
      { tex: "c", display: true },
    ]);
    expect(r.text).not.toContain("mc^2");
  });

  it("ignores prices, escaped dollars, code spans and fences", () => {
    expect(extractMath("costs $5 and $10 today").math).toEqual([]);
    expect(extractMath("a \\$x\\$ b").math).toEqual([]);
    expect(extractMath("use `$x$` literally").math).toEqual([]);
    expect(extractMath("```sh\necho $HOME$\n```").math).toEqual([]);
    expect(hasMath("plain text")).toBe(false);
    expect(hasMath("so $\\alpha$")).toBe(true);
  });
});
