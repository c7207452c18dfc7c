import { describe, expect, it } from "vitest";
import { readSse, resumableSse, type SseFrame, SseParser, StreamHttpError } from "./sse";

const frame = (event: string, id: number, data: unknown) =>
  `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;

describe("SseParser", () => {
  it("parses frames cut at any byte", () => {
    const text = `${frame("start", 1, { a: 1 })}: ping\n\n${frame("delta", 2, { content: "hé\nllo" })}`;
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const frames = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
      expect(frames.map((f) => [f.event, f.id])).toEqual([
        ["start", "1"],
        ["delta", "2"],
      ]);
      expect(JSON.parse(frames[1]?.data ?? "")).toEqual({ content: "hé\nllo" });
      expect(p.lastEventId).toBe("2");
    }
  });

  it("handles CRLF, CR, multi-line data and the default event name", () => {
    const p = new SseParser();
    const frames = p.feed("data: one\r\ndata: two\r\n\r\nevent: x\rdata:three\r\r\n");
    expect(frames).toEqual([
      { event: "message", id: null, data: "one\ntwo" },
      { event: "x", id: null, data: "three" },
    ]);
  });

  it("waits for the LF after a CR at the end of a chunk", () => {
    const p = new SseParser();
    expect(p.feed("data: a\r")).toEqual([]);
    expect(p.feed("\n\r\n")).toEqual([{ event: "message", id: null, data: "a" }]);
  });

  it("commits the event id only with a whole frame; a cut frame is discarded", () => {
    const p = new SseParser();
    p.feed(frame("delta", 4, { content: "x" }));
    p.feed('event: delta\nid: 5\ndata: {"cont');
    expect(p.lastEventId).toBe("4");
    p.flush();
    expect(p.feed("\n\n")).toEqual([]);
    expect(p.lastEventId).toBe("4");
  });

  it("reads retry:", () => {
    const p = new SseParser();
    p.feed("retry: 1500\n\n");
    expect(p.retryMs).toBe(1500);
  });
});

/** A fetch that serves scripted bodies, recording requests (no network). */
function scriptedFetch(responses: Array<() => Response>) {
  const calls: { url: string; headers: Headers; method: string }[] = [];
  const impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({
      url: String(input),
      headers: new Headers(init?.headers),
      method: init?.method ?? "GET",
    });
    const next = responses.shift();
    if (!next) throw new TypeError("network down");
    return next();
  }) as typeof fetch;
  return { impl, calls };
}

function streamOf(chunks: string[], fail = false): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const queue = [...chunks];
  return new ReadableStream({
    pull(controller) {
      const next = queue.shift();
      if (next !== undefined) controller.enqueue(enc.encode(next));
      else if (fail) controller.error(new TypeError("connection reset"));
      else controller.close();
    },
  });
}

describe("readSse", () => {
  it("turns a 4xx into a StreamHttpError with the API's message", async () => {
    const { impl } = scriptedFetch([
      () =>
        new Response(
          JSON.stringify({ error: true, error_message: "No key", error_type: "no_key" }),
          { status: 402, headers: { "content-type": "application/json" } },
        ),
    ]);
    const it = readSse("/x", { method: "POST" }, { fetchImpl: impl });
    await expect(it.next()).rejects.toMatchObject({
      status: 402,
      errorType: "no_key",
      message: "No key",
    });
    await expect(
      readSse(
        "/x",
        {},
        { fetchImpl: scriptedFetch([() => new Response("nope", { status: 500 })]).impl },
      ).next(),
    ).rejects.toBeInstanceOf(StreamHttpError);
  });

  it("sends Last-Event-ID when resuming", async () => {
    const { impl, calls } = scriptedFetch([() => new Response(streamOf([frame("done", 9, {})]))]);
    const got: SseFrame[] = [];
    for await (const f of readSse("/s", {}, { fetchImpl: impl, lastEventId: "8" })) got.push(f);
    expect(got).toHaveLength(1);
    expect(calls[0]?.headers.get("Last-Event-ID")).toBe("8");
    expect(calls[0]?.headers.get("Accept")).toBe("text/event-stream");
  });
});

describe("resumableSse", () => {
  it("reconnects after a drop with the last whole frame's id and loses nothing", async () => {
    const { impl, calls } = scriptedFetch([
      () =>
        new Response(
          streamOf(
            [frame("start", 1, {}), frame("delta", 2, { content: "a" }), "event: delta\nid: 3\nda"],
            true,
          ),
        ),
      () => new Response(streamOf([frame("delta", 3, { content: "b" }), frame("done", 4, {})])),
      () => new Response(streamOf([frame("never", 5, {})])),
    ]);
    const seen: string[] = [];
    for await (const f of resumableSse({
      open: () => ({ url: "/api/threads/1/stream", init: { method: "POST", body: "{}" } }),
      resume: () => ({ url: "/api/threads/1/stream?message_id=7", init: { method: "GET" } }),
      isFinished: (f) => f.event === "done",
      fetchImpl: impl,
      sleep: async () => undefined,
    })) {
      seen.push(`${f.event}:${f.id}`);
    }
    expect(seen).toEqual(["start:1", "delta:2", "delta:3", "done:4"]);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.headers.has("Last-Event-ID")).toBe(false);
    expect(calls[1]?.method).toBe("GET");
    expect(calls[1]?.url).toBe("/api/threads/1/stream?message_id=7");
    expect(calls[1]?.headers.get("Last-Event-ID")).toBe("2");
  });

  it("reconnects when the body ends cleanly before the final frame", async () => {
    const { impl, calls } = scriptedFetch([
      () => new Response(streamOf([frame("start", 1, {})])),
      () => new Response(streamOf([frame("done", 2, {})])),
    ]);
    const seen: string[] = [];
    for await (const f of resumableSse({
      open: () => ({ url: "/a", init: {} }),
      resume: () => ({ url: "/b", init: {} }),
      isFinished: (f) => f.event === "done",
      fetchImpl: impl,
      sleep: async () => undefined,
    }))
      seen.push(f.event);
    expect(seen).toEqual(["start", "done"]);
    expect(calls[1]?.headers.get("Last-Event-ID")).toBe("1");
  });

  it("gives up after maxRetries and does not retry a refusal", async () => {
    const down = scriptedFetch([]);
    const run = async () => {
      for await (const _ of resumableSse({
        open: () => ({ url: "/a", init: {} }),
        resume: () => ({ url: "/b", init: {} }),
        isFinished: () => false,
        fetchImpl: down.impl,
        maxRetries: 2,
        sleep: async () => undefined,
      }));
    };
    await expect(run()).rejects.toThrow(/could not be resumed/);
    expect(down.calls).toHaveLength(3);

    const refused = scriptedFetch([() => new Response("{}", { status: 404 })]);
    const run2 = async () => {
      for await (const _ of resumableSse({
        open: () => ({ url: "/a", init: {} }),
        resume: () => ({ url: "/b", init: {} }),
        isFinished: () => false,
        fetchImpl: refused.impl,
        sleep: async () => undefined,
      }));
    };
    await expect(run2()).rejects.toBeInstanceOf(StreamHttpError);
    expect(refused.calls).toHaveLength(1);
  });
});
