/**
 * An answer's markdown: split into blocks, each rendered once and memoised by
 * its text; while streaming only the last block changes, so only it is
 * parsed again. Code copy buttons work by delegation (no per-block handlers).
 */
import { memo, startTransition, useEffect, useMemo, useReducer, useRef } from "react";
import { type Block, BlockSplitter, splitBlocks } from "./lib/blocks";
import { loadAssets, renderBlock } from "./lib/render";

const BlockView = memo(function BlockView({ text }: { text: string }) {
  const [, bump] = useReducer((x: number) => x + 1, 0);
  const rendered = renderBlock(text);
  useEffect(() => {
    if (!rendered.pending) return;
    let live = true;
    void loadAssets(rendered).then(() => {
      // Interruptible: many blocks re-rendering at once must not make one long task.
      if (live) startTransition(() => bump());
    });
    return () => {
      live = false;
    };
  }, [rendered]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: rendered by marked with raw HTML escaped and links filtered (lib/render.ts)
  return <div className="md-block" dangerouslySetInnerHTML={{ __html: rendered.html }} />;
});

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Click handler for the copy buttons inside rendered code blocks. */
export function onCodeCopyClick(e: React.MouseEvent<HTMLElement>): void {
  const btn = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-copy]");
  if (!btn) return;
  const code = btn.closest(".code-block")?.querySelector("code");
  if (!code) return;
  void copyText(code.textContent ?? "").then((ok) => {
    btn.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => {
      btn.textContent = "Copy";
    }, 1500);
  });
}

export const Markdown = memo(function Markdown({
  text,
  streaming = false,
}: {
  text: string;
  streaming?: boolean;
}) {
  const splitter = useRef<BlockSplitter | null>(null);
  const blocks: Block[] = useMemo(() => {
    if (!streaming) return splitBlocks(text, false);
    splitter.current ??= new BlockSplitter();
    return splitter.current.update(text, true);
  }, [text, streaming]);
  return (
    <div className="md">
      {blocks.map((b) => (
        <BlockView key={b.key} text={b.text} />
      ))}
    </div>
  );
});
