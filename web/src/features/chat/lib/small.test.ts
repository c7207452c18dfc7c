import { describe, expect, it } from "vitest";
import { plainText, SentenceAnnouncer } from "./announcer";
import { formatCost, formatLatency, statsFromMeta } from "./format";
import {
  FrameBatcher,
  MAX_GAP_MS,
  paintGapMs,
  reportPaintCost,
  type Scheduler,
} from "./frameBatcher";
import { isAtBottom, nextPinned } from "./scrollPin";

function manualFrames() {
  const queue = new Map<number, () => void>();
  let n = 0;
  const s: Scheduler = {
    request(cb) {
      n += 1;
      queue.set(n, cb);
      return n;
    },
    cancel(h) {
      queue.delete(h);
    },
  };
  const tick = () => {
    const cbs = [...queue.values()];
    queue.clear();
    for (const cb of cbs) cb();
  };
  return { s, tick, pending: () => queue.size };
}

describe("FrameBatcher", () => {
  it("joins every delta of a frame into one update", () => {
    const out: string[] = [];
    const f = manualFrames();
    const b = new FrameBatcher(
      (t) => out.push(t),
      f.s,
      () => 0,
    );
    b.push("Hel");
    b.push("lo");
    b.push("");
    expect(f.pending()).toBe(1);
    expect(out).toEqual([]);
    f.tick();
    expect(out).toEqual(["Hello"]);
    b.push(" world");
    b.flush();
    expect(out).toEqual(["Hello", " world"]);
    expect(f.pending()).toBe(0);
    b.push("x");
    b.dispose();
    f.tick();
    expect(out).toEqual(["Hello", " world"]);
  });
});

describe("FrameBatcher pacing", () => {
  it("lets frames go by after a costly update, never losing text", () => {
    const out: string[] = [];
    const f = manualFrames();
    let t = 0;
    const b = new FrameBatcher(
      (x) => out.push(x),
      f.s,
      () => 40,
      () => t,
    );
    b.push("a");
    t = 16;
    f.tick();
    expect(out).toEqual(["a"]);
    b.push("b");
    t = 32;
    f.tick(); // 16 ms after the last update: deferred
    b.push("c");
    t = 48;
    f.tick(); // still deferred
    expect(out).toEqual(["a"]);
    t = 64;
    f.tick();
    expect(out).toEqual(["a", "bc"]);
    expect(f.pending()).toBe(0);
  });

  it("spaces updates by three times their cost, capped", () => {
    reportPaintCost(5);
    expect(paintGapMs()).toBe(15);
    reportPaintCost(100);
    expect(paintGapMs()).toBe(MAX_GAP_MS);
    reportPaintCost(0);
  });
});

describe("SentenceAnnouncer", () => {
  it("announces whole sentences at most once per gap, then the rest", () => {
    const said: string[] = [];
    let t = 0;
    const a = new SentenceAnnouncer(
      (s) => said.push(s),
      1000,
      () => t,
    );
    a.update("Hello **there");
    expect(said).toEqual([]);
    a.update("Hello **there**. How");
    expect(said).toEqual(["Hello there."]);
    t = 500;
    a.update("Hello **there**. How are you? Fine.");
    expect(said).toEqual(["Hello there."]);
    t = 1500;
    a.update("Hello **there**. How are you? Fine. And");
    expect(said).toEqual(["Hello there.", "How are you? Fine."]);
    a.finish("Hello **there**. How are you? Fine. And you", "stopped");
    expect(said[2]).toBe("And you (answer stopped)");
  });

  it("reads code blocks as a word, not as symbols", () => {
    expect(plainText("See:\n```js\nx()\n```\n# Head")).toBe("See: code block Head");
  });
});

describe("format", () => {
  it("reads stats from the stored meta and formats them", () => {
    const s = statsFromMeta(
      { tokens: { prompt_tokens: 12, completion_tokens: 30 }, cost: 0.00042, latency_ms: 1234 },
      "gpt-x",
      "openai",
    );
    expect(s).toEqual({
      model: "gpt-x",
      provider: "openai",
      latencyMs: 1234,
      promptTokens: 12,
      completionTokens: 30,
      cost: 0.00042,
    });
    expect(formatCost(s.cost)).toBe("$0.0004");
    expect(formatCost(0)).toBe("$0");
    expect(formatCost(1.234)).toBe("$1.23");
    expect(formatCost(null)).toBe("—");
    expect(formatLatency(1234)).toBe("1.2 s");
    expect(formatLatency(87)).toBe("87 ms");
    expect(statsFromMeta({}, null, null).cost).toBeNull();
  });
});

describe("scroll pin", () => {
  it("un-pins on any upward intent and re-pins at the bottom", () => {
    expect(nextPinned(true, { kind: "wheel", deltaY: -3 })).toBe(false);
    expect(nextPinned(true, { kind: "wheel", deltaY: 3 })).toBe(true);
    expect(nextPinned(true, { kind: "touchmove", dy: 10 })).toBe(false);
    expect(nextPinned(true, { kind: "key", key: "PageUp" })).toBe(false);
    expect(nextPinned(true, { kind: "key", key: " ", shift: true })).toBe(false);
    expect(nextPinned(true, { kind: "key", key: "a" })).toBe(true);
    expect(nextPinned(false, { kind: "scroll", atBottom: true, movedUp: false })).toBe(true);
    expect(nextPinned(true, { kind: "scroll", atBottom: false, movedUp: true })).toBe(false);
    expect(nextPinned(false, { kind: "scroll", atBottom: false, movedUp: false })).toBe(false);
    expect(isAtBottom({ scrollTop: 980, scrollHeight: 1500, clientHeight: 500 })).toBe(true);
    expect(isAtBottom({ scrollTop: 900, scrollHeight: 1500, clientHeight: 500 })).toBe(false);
  });
});
