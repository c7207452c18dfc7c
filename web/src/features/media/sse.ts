/**
 * A small Server-Sent Events reader over fetch (EventSource cannot send the
 * bearer token). `SseParser` turns text chunks into events following the
 * WHATWG rules aihub relies on: `event:`, `data:` (joined with newlines),
 * `id:`, comments (`: ping`) ignored, an event dispatched at a blank line.
 */

export type SseEvent = { event: string; data: string; id: string | null };

export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | null = null;

  /** Feed decoded text; returns the events completed by it. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // a lone \r at the very end may be the first half of \r\n: wait for more
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const done = this.line(line);
      if (done) out.push(done);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      // an event needs at least one data line (spec); otherwise just reset
      const ev: SseEvent | null = this.data.length
        ? { event: this.event || "message", data: this.data.join("\n"), id: this.id }
        : null;
      this.event = "";
      this.data = [];
      return ev;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") {
      // ids persist to later events of the stream (per spec); a NUL id is ignored
      if (!value.includes("\0")) this.id = value;
    }
    return null;
  }
}

/** Read a fetch body and yield its events until the stream ends. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) yield ev;
    }
    for (const ev of parser.push(`${decoder.decode()}\n\n`)) yield ev;
  } finally {
    reader.releaseLock();
  }
}
