/**
 * One voice session's socket: JSON events and binary audio both ways, `pong`
 * for the server's `ping`, and a reconnect after a drop with a fresh token
 * (the server resumes the same session and thread).
 */
import { type ClientEvent, FATAL_CLOSE, parseServerEvent, type ServerEvent } from "./protocol";

/** What we need of the browser's WebSocket (tests pass a stand-in). */
export type SocketLike = {
  binaryType: BinaryType;
  readyState: number;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
};

export type SocketFactory = (url: string) => SocketLike;

export type VoiceSocketOptions = {
  /** the ws:// URL to connect to first */
  url: string;
  /** a fresh URL for a reconnect (POST /api/v1/session/{id}/token) */
  renew: () => Promise<string>;
  onEvent: (ev: ServerEvent) => void;
  onAudio: (frame: ArrayBuffer) => void;
  /** the socket is gone for good (code, and whether the user asked) */
  onClosed: (code: number, byUser: boolean) => void;
  /** the socket is open again after a drop */
  onReconnecting?: (attempt: number) => void;
  create?: SocketFactory;
  /** delays before reconnect attempts, ms */
  backoffMs?: readonly number[];
  maxAttempts?: number;
};

const OPEN = 1;

/** Turn an http(s) URL or a server-made ws URL into one on this page's origin. */
export function socketUrlForPage(wsUrl: string, page: Location | URL): string {
  const server = new URL(wsUrl, page.href);
  const url = new URL(server.pathname + server.search, page.href);
  url.protocol = page.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export class VoiceSocket {
  private socket: SocketLike | null = null;
  private closedByUser = false;
  private attempts = 0;
  private readonly create: SocketFactory;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: VoiceSocketOptions) {
    this.create =
      opts.create ??
      ((url) => {
        const ws = new WebSocket(url);
        return ws as unknown as SocketLike;
      });
  }

  connect(url = this.opts.url): void {
    const ws = this.create(url);
    ws.binaryType = "arraybuffer";
    this.socket = ws;
    ws.onmessage = (msg) => {
      if (typeof msg.data === "string") {
        const ev = parseServerEvent(msg.data);
        if (!ev) return;
        if (ev.type === "ping") this.send({ type: "pong", ts: ev.ts });
        if (ev.type === "session.created") this.attempts = 0;
        this.opts.onEvent(ev);
      } else if (msg.data instanceof ArrayBuffer) {
        this.opts.onAudio(msg.data);
      }
    };
    ws.onclose = (ev) => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.afterClose(ev.code);
    };
    ws.onerror = () => {
      // a close event always follows; nothing to do here
    };
  }

  private afterClose(code: number): void {
    const max = this.opts.maxAttempts ?? 5;
    const fatal = this.closedByUser || code === 1000 || FATAL_CLOSE.has(code);
    if (fatal || this.attempts >= max) {
      this.opts.onClosed(code, this.closedByUser);
      return;
    }
    this.attempts += 1;
    const backoff = this.opts.backoffMs ?? [250, 1000, 2000, 4000, 8000];
    const delay = backoff[Math.min(this.attempts, backoff.length) - 1] ?? 1000;
    this.opts.onReconnecting?.(this.attempts);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closedByUser) return;
      this.opts.renew().then(
        (url) => {
          if (!this.closedByUser) this.connect(url);
        },
        () => this.afterClose(code),
      );
    }, delay);
  }

  get open(): boolean {
    return this.socket?.readyState === OPEN;
  }

  send(ev: ClientEvent): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(ev));
    return true;
  }

  sendAudio(frame: ArrayBuffer): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(frame);
    return true;
  }

  /** End for good: `session.end` first when asked, then close. */
  close(endSession = false): void {
    this.closedByUser = true;
    if (this.timer) clearTimeout(this.timer);
    const ws = this.socket;
    if (!ws) {
      this.opts.onClosed(1000, true);
      return;
    }
    if (endSession && ws.readyState === OPEN) ws.send(JSON.stringify({ type: "session.end" }));
    ws.close(1000);
  }
}
