import { beforeEach, describe, expect, it } from "vitest";
import { clearRenderCache, loadAssets, renderBlock } from "./render";

describe("renderBlock", () => {
  beforeEach(() => clearRenderCache());

  it("escapes raw HTML and unsafe links from the model", () => {
    const r = renderBlock(
      '<img src=x onerror="alert(1)"> [a](javascript:alert(1)) [b](https://x.org)',
    );
    expect(r.html).not.toContain("<img");
    expect(r.html).toContain("&lt;img");
    expect(r.html).not.toContain("javascript:");
    expect(r.html).toContain('href="https://x.org"');
    expect(r.html).toContain('rel="noopener noreferrer nofollow"');
  });

  it("memoises by text", () => {
    const a = renderBlock("**bold** text");
    expect(renderBlock("**bold** text")).toBe(a);
    expect(a.html).toContain("<strong>bold</strong>");
  });

  it("renders code with a copy button, highlighted once its language has loaded", async () => {
    const first = renderBlock("```python\ndef f(): return 1\n```\n");
    expect(first.pending).toBe(true);
    expect(first.langs).toEqual(["python"]);
    expect(first.html).toContain('aria-label="Copy code"');
    expect(first.html).toContain("def f(): return 1");
    await loadAssets(first);
    const second = renderBlock("```python\ndef f(): return 1\n```\n");
    expect(second.pending).toBe(false);
    expect(second.html).toContain('class="hljs-keyword"');
  });

  it("renders math with KaTeX once loaded", async () => {
    const first = renderBlock("so $x^2$ holds");
    expect(first.math).toBe(true);
    expect(first.html).toContain("math-pending");
    await loadAssets(first);
    const second = renderBlock("so $x^2$ holds");
    expect(second.html).toContain("katex");
    expect(second.pending).toBe(false);
  });
});
