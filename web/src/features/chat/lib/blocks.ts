/**
 * Markdown split into top-level blocks, so a streaming answer re-parses only
 * its last block: everything before the last safe boundary is finished and its
 * rendering is memoised by text. A boundary is a blank line outside code fences
 * and $$ math (not followed by an indented line, which would continue a list
 * item), and both edges of a fenced code block.
 */

export interface Block {
  /** Stable while the block's start offset does not move. */
  key: string;
  text: string;
  /** False only for the last block of a message still streaming. */
  done: boolean;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

interface ScanState {
  /** Offsets where blocks start (first is always 0). */
  starts: number[];
  /** Where the next scan resumes (start of a line, state known there). */
  offset: number;
  fence: string | null;
  math: boolean;
  /** Offset of a blank line outside fences waiting to see its next line. */
  pendingBlank: number | null;
}

function freshState(): ScanState {
  return { starts: [0], offset: 0, fence: null, math: false, pendingBlank: null };
}

function pushStart(state: ScanState, at: number): void {
  const last = state.starts[state.starts.length - 1];
  if (last !== undefined && at > last) state.starts.push(at);
}

/** Scans whole lines from state.offset; leaves a trailing partial line for later. */
function scan(state: ScanState, text: string): void {
  let pos = state.offset;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    if (nl === -1) break; // an unfinished line: decided when it ends
    const line = text.slice(pos, nl);
    const next = nl + 1;
    const blank = line.trim() === "";
    if (state.fence !== null) {
      const m = FENCE.exec(line);
      const fenceMark = m?.[1];
      if (
        fenceMark &&
        fenceMark[0] === state.fence[0] &&
        fenceMark.length >= state.fence.length &&
        line.trim() === fenceMark
      ) {
        state.fence = null;
        pushStart(state, next);
      }
    } else if (state.math) {
      if (line.trim() === "$$") {
        state.math = false;
        pushStart(state, next);
      }
    } else if (blank) {
      if (state.pendingBlank === null) state.pendingBlank = next;
      else state.pendingBlank = next; // several blank lines: split after the last
    } else {
      if (state.pendingBlank !== null) {
        if (!/^[ \t]/.test(line)) pushStart(state, state.pendingBlank);
        state.pendingBlank = null;
      }
      const m = FENCE.exec(line);
      if (m?.[1]) {
        pushStart(state, pos);
        state.fence = m[1];
      } else if (line.trim() === "$$") {
        pushStart(state, pos);
        state.math = true;
      }
    }
    pos = next;
  }
  state.offset = pos;
}

function toBlocks(state: ScanState, text: string, streaming: boolean): Block[] {
  const blocks: Block[] = [];
  const starts = [...state.starts];
  // A blank line followed by an unfinished, unindented line: already a boundary.
  const partial = text.slice(state.offset);
  if (state.pendingBlank !== null && partial !== "" && !/^[ \t]/.test(partial)) {
    if (state.pendingBlank > (starts[starts.length - 1] ?? 0)) starts.push(state.pendingBlank);
  }
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i] ?? 0;
    const end = starts[i + 1] ?? text.length;
    const body = text.slice(start, end);
    const last = i === starts.length - 1;
    if (last && body.trim() === "" && blocks.length > 0) continue;
    blocks.push({ key: `b${start}`, text: body, done: !(last && streaming) });
  }
  if (blocks.length > 0 && streaming) {
    const tail = blocks[blocks.length - 1];
    if (tail) tail.done = false;
  }
  return blocks;
}

/** One-shot split of a finished (or streaming) text. */
export function splitBlocks(text: string, streaming = false): Block[] {
  const state = freshState();
  scan(state, text);
  return toBlocks(state, text, streaming);
}

/**
 * The streaming form: feed the growing text; only the part after the last
 * fully scanned line is looked at again, and earlier blocks keep their keys
 * and text (so memoised renders are reused).
 */
export class BlockSplitter {
  private state = freshState();
  private text = "";
  private blocks: Block[] = [];

  update(text: string, streaming: boolean): Block[] {
    if (!text.startsWith(this.text) || text.length < this.state.offset) {
      this.state = freshState();
      this.blocks = [];
    }
    this.text = text;
    scan(this.state, text);
    const fresh = toBlocks(this.state, text, streaming);
    // Reuse the objects of finished blocks that did not change.
    const stable = Math.min(this.blocks.length, fresh.length);
    for (let i = 0; i < stable; i++) {
      const old = this.blocks[i];
      const neu = fresh[i];
      if (old && neu?.done && old.done && old.key === neu.key && old.text === neu.text) {
        fresh[i] = old;
      }
    }
    this.blocks = fresh;
    return fresh;
  }
}

// ---------------------------------------------------------------- math

export interface MathSpan {
  tex: string;
  display: boolean;
}

export interface MathExtraction {
  /** The text with each formula replaced by a placeholder token. */
  text: string;
  math: MathSpan[];
}

export const mathToken = (i: number): string => `\u2063MATH${i}\u2063`;
export const MATH_TOKEN_RE = /\u2063MATH(\d+)\u2063/g;

/** True when the text probably holds math (decides whether KaTeX is loaded). */
export function hasMath(text: string): boolean {
  return extractMath(text).math.length > 0;
}

/**
 * Pulls $$..$$, \[..\], \(..\) and $..$ formulas out of markdown (not out of
 * code spans or fences) so the markdown parser does not mangle them. `$5 and
 * $10` is not math: an inline $ formula may not start or end with a space and
 * may not be followed by a digit.
 */
export function extractMath(src: string): MathExtraction {
  if (FENCE.test(src)) return { text: src, math: [] };
  const math: MathSpan[] = [];
  let out = "";
  let i = 0;
  const push = (tex: string, display: boolean) => {
    out += mathToken(math.length);
    math.push({ tex, display });
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "`") {
      let run = 0;
      while (src[i + run] === "`") run++;
      const fence = "`".repeat(run);
      const close = src.indexOf(fence, i + run);
      if (close === -1) {
        out += src.slice(i);
        break;
      }
      out += src.slice(i, close + run);
      i = close + run;
      continue;
    }
    if (c === "\\" && (src[i + 1] === "[" || src[i + 1] === "(")) {
      const closer = src[i + 1] === "[" ? "\\]" : "\\)";
      const close = src.indexOf(closer, i + 2);
      if (close !== -1) {
        push(src.slice(i + 2, close).trim(), src[i + 1] === "[");
        i = close + 2;
        continue;
      }
    }
    if (c === "\\" && src[i + 1] === "$") {
      out += "\\$";
      i += 2;
      continue;
    }
    if (c === "$") {
      if (src[i + 1] === "$") {
        const close = src.indexOf("$$", i + 2);
        if (close !== -1 && src.slice(i + 2, close).trim() !== "") {
          push(src.slice(i + 2, close).trim(), true);
          i = close + 2;
          continue;
        }
      } else {
        const close = findInlineClose(src, i + 1);
        if (close !== -1) {
          push(src.slice(i + 1, close), false);
          i = close + 1;
          continue;
        }
      }
    }
    out += c;
    i++;
  }
  return { text: out, math };
}

function findInlineClose(src: string, from: number): number {
  const first = src[from];
  if (first === undefined || first === " " || first === "\n") return -1;
  for (let j = from; j < src.length; j++) {
    const c = src[j];
    if (c === "\n" && src[j + 1] === "\n") return -1; // not across paragraphs
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "$") {
      if (j === from) return -1;
      if (src[j - 1] === " ") return -1;
      if (/\d/.test(src[j + 1] ?? "")) return -1;
      return j;
    }
  }
  return -1;
}
