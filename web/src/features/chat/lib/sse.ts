/**
 * Server-sent events over fetch (POST bodies and bearer headers, which
 * EventSource cannot send), with resume: every frame's `id:` is remembered and a
 * reconnect sends it back as `Last-Event-ID`, so the server replays only what
 * was missed and then follows the live tail.
 */

export interface SseFrame {
  event: string;
  id: string | null;
  data: string;
}

/**
 * Incremental SSE parser (the WHATWG event-stream rules): feed it text chunks
 * cut anywhere, get whole frames back. Comments (`: ping`) are dropped.
 */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | null = null;
  private hasData = false;
  /** The id of the last whole frame, kept across frames (what Last-Event-ID carries). */
  lastEventId: string | null = null;
  /** A `retry:` the server asked for, in ms. */
  retryMs: number | null = null;

  feed(chunk: string): SseFrame[] {
    this.buffer += chunk;
    const frames: SseFrame[] = [];
    let start = 0;
    for (;;) {
      const nl = this.nextLineEnd(start);
      if (nl === -1) break;
      const line = this.buffer.slice(start, nl.index);
      start = nl.index + nl.length;
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    this.buffer = this.buffer.slice(start);
    return frames;
  }

  /**
   * End of body: a frame not closed by a blank line is discarded (the spec's
   * rule), so a resume replays it whole instead of delivering half of it.
   */
  flush(): void {
    this.buffer = "";
    this.event = "";
    this.data = [];
    this.hasData = false;
    this.id = this.lastEventId;
  }

  private nextLineEnd(from: number): { index: number; length: number } | -1 {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c === 10) return { index: i, length: 1 };
      if (c === 13) {
        // A CR at the very end may be the first half of CRLF: wait for more.
        if (i + 1 === this.buffer.length) return -1;
        return { index: i, length: this.buffer.charCodeAt(i + 1) === 10 ? 2 : 1 };
      }
    }
    return -1;
  }

  private line(line: string): SseFrame | null {
    if (line === "") {
      if (!this.hasData) {
        this.event = "";
        return null;
      }
      const frame: SseFrame = {
        event: this.event || "message",
        id: this.id,
        data: this.data.join("\n"),
      };
      // Committed only when the frame is whole: a cut-off frame is replayed.
      this.lastEventId = this.id;
      this.event = "";
      this.data = [];
      this.hasData = false;
      return frame;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return null;
  }
}

/** A non-2xx answer before the stream began, in the API's error shape. */
export class StreamHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string | null,
    message: string,
  ) {
    super(message);
    this.name = "StreamHttpError";
  }
}

export interface ReadSseOptions {
  /** Sent as Last-Event-ID when set (resume). */
  lastEventId?: string | null;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
}

async function httpError(res: Response): Promise<StreamHttpError> {
  let message = `HTTP ${res.status}`;
  let type: string | null = null;
  try {
    const body = (await res.json()) as { error_message?: string; error_type?: string };
    if (body.error_message) message = body.error_message;
    if (body.error_type) type = body.error_type;
  } catch {
    // not JSON: keep the status line
  }
  return new StreamHttpError(res.status, type, message);
}

/**
 * Open `url` and yield its frames as they arrive. The parser (and so the
 * last event id) is returned through `parser` for the caller's resume logic.
 */
export async function* readSse(
  url: string,
  init: RequestInit,
  options: ReadSseOptions = {},
  parser: SseParser = new SseParser(),
): AsyncGenerator<SseFrame> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "text/event-stream");
  if (options.lastEventId) headers.set("Last-Event-ID", options.lastEventId);
  const doFetch = options.fetchImpl ?? fetch;
  const res = await doFetch(url, { ...init, headers, signal: options.signal ?? null });
  if (!res.ok) throw await httpError(res);
  if (res.status === 204 || !res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const frame of parser.feed(value)) yield frame;
    }
    parser.flush();
  } finally {
    // Stopping early (final frame seen, or the caller left) closes the body.
    reader.cancel().catch(() => undefined);
  }
}

export interface ResumableOptions {
  /** The first request (e.g. the POST that starts a generation). */
  open: () => { url: string; init: RequestInit };
  /** The request that re-attaches to the same stream after a drop (GET + Last-Event-ID). */
  resume: () => { url: string; init: RequestInit };
  /** True once the stream has delivered its final frame: no reconnect after that. */
  isFinished: (frame: SseFrame) => boolean;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  maxRetries?: number;
  /** Waits between attempts; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Frames of a stream that survives dropped connections: when the body ends
 * (or the network fails) before the final frame, it reconnects with
 * `resume()` and Last-Event-ID, so no frame is lost or repeated. HTTP errors
 * (4xx) end it: the server has said no.
 */
export async function* resumableSse(options: ResumableOptions): AsyncGenerator<SseFrame> {
  const parser = new SseParser();
  const sleep = options.sleep ?? wait;
  const maxRetries = options.maxRetries ?? 5;
  let attempt = 0;
  let request = options.open();
  let first = true;
  for (;;) {
    let finished = false;
    try {
      for await (const frame of readSse(
        request.url,
        request.init,
        {
          lastEventId: first ? null : parser.lastEventId,
          signal: options.signal,
          fetchImpl: options.fetchImpl,
        },
        parser,
      )) {
        attempt = 0;
        yield frame;
        if (options.isFinished(frame)) {
          finished = true;
          break;
        }
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (err instanceof StreamHttpError) throw err;
      // network failure: fall through to a retry
    }
    if (finished || options.signal?.aborted) return;
    attempt += 1;
    if (attempt > maxRetries) throw new Error("The stream was lost and could not be resumed");
    await sleep(Math.min(250 * 2 ** (attempt - 1), 4000));
    first = false;
    request = options.resume();
  }
}
