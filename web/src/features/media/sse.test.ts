import { describe, expect, it } from "vitest";
import { readSse, SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split at any byte, with ids, comments and CRLF", () => {
    const text =
      ': ping\r\n\r\nevent: queued\r\ndata: {"a":1}\r\nid: 1\r\n\r\nevent: progress\ndata: line1\ndata: line2\nid: 2\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(events).toEqual([
        { event: "queued", data: '{"a":1}', id: "1" },
        { event: "progress", data: "line1\nline2", id: "2" },
      ]);
    }
  });

  it("keeps the last id for events without one and defaults the type", () => {
    const p = new SseParser();
    expect(p.push("id: 7\ndata: x\n\ndata:y\n\n")).toEqual([
      { event: "message", data: "x", id: "7" },
      { event: "message", data: "y", id: "7" },
    ]);
  });

  it("dispatches nothing for a block without data", () => {
    const p = new SseParser();
    expect(p.push("event: queued\n\n: comment\n\n")).toEqual([]);
  });

  it("reads a byte stream to its end, flushing a last event without a blank line", async () => {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        const bytes = enc.encode("event: a\ndata: é\n\nevent: b\ndata: 2");
        // split inside the two-byte é
        c.enqueue(bytes.slice(0, 18));
        c.enqueue(bytes.slice(18));
        c.close();
      },
    });
    const got = [];
    for await (const ev of readSse(body)) got.push(ev);
    expect(got).toEqual([
      { event: "a", data: "é", id: null },
      { event: "b", data: "2", id: null },
    ]);
  });
});
