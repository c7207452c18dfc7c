import { describe, expect, it } from "vitest";
import { type SocketLike, socketUrlForPage, VoiceSocket } from "./connection";
import {
  CapturePipeline,
  Framer,
  floatToPcm16,
  pcm16Bytes,
  pcm16ToFloat,
  Resampler,
  rateOfFormat,
} from "./pcm";
import { type AudioOut, PcmPlayer } from "./player";
import { initialVoiceState, type ServerEvent, type VoiceAction, voiceReducer } from "./protocol";

describe("pcm", () => {
  it("converts floats to PCM16 little-endian and back", () => {
    const pcm = floatToPcm16(Float32Array.from([0, 1, -1, 0.5, 2, -2]));
    expect([...pcm]).toEqual([0, 32767, -32768, 16384, 32767, -32768]);
    const bytes = new Uint8Array(pcm16Bytes(Int16Array.from([1, -2])));
    expect([...bytes]).toEqual([1, 0, 0xfe, 0xff]);
    const back = pcm16ToFloat(pcm16Bytes(Int16Array.from([16384, -32768])));
    expect([...back]).toEqual([0.5, -1]);
  });

  it("downsamples 48 kHz to 16 kHz by averaging, whatever the chunking", () => {
    const input = Float32Array.from({ length: 960 }, (_, i) => Math.floor(i / 3) % 2);
    const whole = new Resampler(48000, 16000).process(input);
    expect(whole.length).toBe(320);
    expect([...whole.slice(0, 4)]).toEqual([0, 1, 0, 1]);
    const r = new Resampler(48000, 16000);
    const parts = [input.slice(0, 100), input.slice(100, 101), input.slice(101)].map((c) => [
      ...r.process(c),
    ]);
    expect(parts.flat()).toEqual([...whole]);
  });

  it("handles a non-integer ratio (44.1 kHz) without drift", () => {
    const r = new Resampler(44100, 16000);
    let out = 0;
    for (let i = 0; i < 100; i++) out += r.process(new Float32Array(441)).length;
    // 44100 samples in -> 16000 out, give or take the carried tail
    expect(Math.abs(out - 16000)).toBeLessThanOrEqual(1);
  });

  it("upsamples by linear interpolation", () => {
    const out = new Resampler(8000, 16000).process(Float32Array.from([0, 1, 0]));
    expect([...out]).toEqual([0, 0.5, 1, 0.5]);
  });

  it("frames exact 20 ms pieces and keeps the rest for later", () => {
    const f = new Framer(320);
    expect(f.push(new Int16Array(500))).toHaveLength(1);
    const frames = f.push(new Int16Array(140));
    expect(frames).toHaveLength(1);
    expect(frames[0]?.byteLength).toBe(640);
    expect(f.push(new Int16Array(319))).toHaveLength(0);
  });

  it("turns 48 kHz microphone chunks into 16 kHz 20 ms frames", () => {
    const p = new CapturePipeline(48000, 16000);
    let bytes = 0;
    for (let i = 0; i < 10; i++)
      for (const fr of p.push(new Float32Array(2048).fill(0.25))) bytes += fr.byteLength;
    // 20480 samples at 48 kHz = 6826 at 16 kHz = 21 whole frames of 640 bytes
    expect(bytes).toBe(21 * 640);
  });

  it("reads the rate out of the audio format", () => {
    expect(rateOfFormat("audio/pcm;rate=24000;encoding=s16le;channels=1", 16000)).toBe(24000);
    expect(rateOfFormat("audio/pcm", 16000)).toBe(16000);
  });
});

describe("voiceReducer", () => {
  const run = (events: ServerEvent[], start = initialVoiceState) =>
    events.reduce((s, event) => voiceReducer(s, { type: "server", event } as VoiceAction), start);

  it("builds a spoken turn from the socket's events", () => {
    const s = run([
      { type: "session.created", session_id: "s1", expires_at: "x", thread_id: 42 },
      { type: "input_audio.speech_started", turn_id: "t1" },
      { type: "transcript.partial", turn_id: "t1", text: "book a" },
      { type: "input_audio.speech_stopped", turn_id: "t1" },
      { type: "transcript.final", turn_id: "t1", text: "Book a table." },
      { type: "response.text.delta", turn_id: "t1", delta: "Sure, " },
      { type: "response.audio.start", turn_id: "t1", format: "audio/pcm;rate=16000" },
      { type: "response.text.delta", turn_id: "t1", delta: "for how many?" },
      { type: "response.done", turn_id: "t1", message_id: 7, status: "complete", cost: 0.001 },
    ]);
    expect(s.threadId).toBe(42);
    expect(s.phase).toBe("speaking"); // until playback ends
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({
      user: "Book a table.",
      userFinal: true,
      assistant: "Sure, for how many?",
      status: "complete",
      spoken: true,
      messageId: 7,
      cost: 0.001,
    });
    expect(voiceReducer(s, { type: "local.playback-ended" }).phase).toBe("listening");
  });

  it("marks a barged-in answer interrupted and starts the next turn", () => {
    const s = run([
      { type: "session.created", session_id: "s1", expires_at: "x", thread_id: 1 },
      { type: "transcript.final", turn_id: "t1", text: "Tell me a story" },
      { type: "response.audio.start", turn_id: "t1", format: "audio/pcm;rate=16000" },
      { type: "response.text.delta", turn_id: "t1", delta: "Once upon" },
      { type: "input_audio.speech_started", turn_id: "t2" },
      { type: "response.interrupted", turn_id: "t1", barge_in_ms: 40 },
      { type: "response.done", turn_id: "t1", message_id: 3, status: "interrupted" },
      { type: "transcript.final", turn_id: "t2", text: "Stop" },
    ]);
    expect(s.turns.map((t) => [t.id, t.status])).toEqual([
      ["t1", "interrupted"],
      ["t2", "thinking"],
    ]);
  });

  it("drops noise and empty transcripts, keeps typed turns", () => {
    let s = run([
      { type: "session.created", session_id: "s1", expires_at: "x", thread_id: 1 },
      { type: "input_audio.speech_started", turn_id: "n1" },
      { type: "input_audio.speech_stopped", turn_id: "n1", discarded: true },
      { type: "input_audio.speech_started", turn_id: "e1" },
      { type: "transcript.final", turn_id: "e1", text: "" },
    ]);
    expect(s.turns).toEqual([]);
    expect(s.phase).toBe("listening");
    s = voiceReducer(s, { type: "local.typed", text: "Hello there" });
    s = run([{ type: "response.text.delta", turn_id: "t9", delta: "Hi!" }], s);
    expect(s.turns[0]).toMatchObject({
      id: "t9",
      user: "Hello there",
      typed: true,
      assistant: "Hi!",
    });
  });

  it("keeps a TTS failure's text, fails the turn on an LLM error", () => {
    const s = run([
      { type: "transcript.final", turn_id: "a", text: "hi" },
      {
        type: "error",
        turn_id: "a",
        stage: "tts",
        error_message: "no voice",
        error_type: "api_error",
      },
      { type: "transcript.final", turn_id: "b", text: "again" },
      { type: "error", turn_id: "b", stage: "llm", error_message: "down", error_type: "api_error" },
      { type: "error", error_message: "rate limited", error_type: "rate_limit" },
    ]);
    expect(s.turns.map((t) => [t.status, t.error])).toEqual([
      ["thinking", "no voice"],
      ["error", "down"],
    ]);
    expect(s.error).toBe("rate limited");
  });
});

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  binaryType: BinaryType = "blob";
  readyState = 0;
  sent: (string | ArrayBuffer | ArrayBufferView)[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
  }
  receive(data: string | ArrayBuffer) {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
  send(data: string | ArrayBuffer | ArrayBufferView) {
    this.sent.push(data);
  }
  close(code = 1000) {
    this.drop(code);
  }
}

describe("VoiceSocket", () => {
  function setup() {
    FakeSocket.all = [];
    const events: string[] = [];
    const audio: number[] = [];
    const closed: [number, boolean][] = [];
    let renewals = 0;
    const sock = new VoiceSocket({
      url: "ws://h/ws/audio?token=a",
      renew: async () => `ws://h/ws/audio?token=r${++renewals}`,
      onEvent: (e) => events.push(e.type),
      onAudio: (f) => audio.push(f.byteLength),
      onClosed: (code, byUser) => closed.push([code, byUser]),
      create: (url) => new FakeSocket(url),
      backoffMs: [0],
      maxAttempts: 2,
    });
    sock.connect();
    return { sock, events, audio, closed };
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it("routes JSON and audio, answers ping with pong", () => {
    const { sock, events, audio } = setup();
    const ws = FakeSocket.all[0] as FakeSocket;
    ws.open();
    expect(ws.binaryType).toBe("arraybuffer");
    ws.receive('{"type":"session.created","session_id":"s","expires_at":"x","thread_id":1}');
    ws.receive('{"type":"ping","ts":12}');
    ws.receive("not json");
    ws.receive(new ArrayBuffer(640));
    expect(events).toEqual(["session.created", "ping"]);
    expect(audio).toEqual([640]);
    expect(ws.sent).toEqual(['{"type":"pong","ts":12}']);
    expect(sock.sendAudio(new ArrayBuffer(4))).toBe(true);
  });

  it("reconnects with a renewed URL after a drop, gives up on a fatal close", async () => {
    const { closed } = setup();
    (FakeSocket.all[0] as FakeSocket).drop(1006);
    await tick();
    await tick();
    expect(FakeSocket.all.map((s) => s.url)).toEqual([
      "ws://h/ws/audio?token=a",
      "ws://h/ws/audio?token=r1",
    ]);
    (FakeSocket.all[1] as FakeSocket).drop(4409);
    await tick();
    expect(closed).toEqual([[4409, false]]);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("sends session.end and closes when the user ends it; no reconnect", async () => {
    const { sock, closed } = setup();
    const ws = FakeSocket.all[0] as FakeSocket;
    ws.open();
    sock.close(true);
    await tick();
    expect(ws.sent).toEqual(['{"type":"session.end"}']);
    expect(closed).toEqual([[1000, true]]);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("rewrites the server's ws_url onto the page's origin", () => {
    expect(
      socketUrlForPage(
        "ws://127.0.0.1:8000/ws/audio?token=abc",
        new URL("https://hub.example/voice"),
      ),
    ).toBe("wss://hub.example/ws/audio?token=abc");
  });
});

describe("PcmPlayer", () => {
  type Src = {
    start: number | null;
    stopped: boolean;
    onended: (() => void) | null;
    length: number;
  };
  function fakeOut() {
    const sources: Src[] = [];
    const out = {
      currentTime: 10,
      destination: {} as AudioNode,
      createBuffer: (_c: number, length: number, _r: number) =>
        ({ length, copyToChannel: () => {} }) as unknown as AudioBuffer,
      createBufferSource: () => {
        const s: Src & Record<string, unknown> = {
          start: null,
          stopped: false,
          onended: null,
          length: 0,
          buffer: null,
          connect: () => {},
          disconnect: () => {},
        };
        s.start = null;
        const node = s as unknown as AudioBufferSourceNode;
        (node as unknown as { start: (t: number) => void }).start = (t: number) => {
          s.start = t;
        };
        (node as unknown as { stop: () => void }).stop = () => {
          s.stopped = true;
        };
        sources.push(s);
        return node;
      },
    };
    return { out: out as unknown as AudioOut & { currentTime: number }, sources };
  }

  it("schedules frames back to back and reports when it has played them all", () => {
    const { out, sources } = fakeOut();
    let idle = 0;
    const p = new PcmPlayer(out, 16000, () => idle++);
    p.enqueue(new ArrayBuffer(3200)); // 100 ms
    p.enqueue(new ArrayBuffer(3201)); // 100 ms + a byte carried over
    p.enqueue(new ArrayBuffer(1)); // completes one more sample
    const starts = sources.map((s) => (s as unknown as { start: number }).start);
    expect(starts[0]).toBeCloseTo(10.05);
    expect(starts[1]).toBeCloseTo(10.15);
    expect(starts[2]).toBeCloseTo(10.25);
    expect(p.receivedS).toBeCloseTo(0.2 + 1 / 16000);
    for (const s of sources) (s.onended as () => void)();
    expect(idle).toBe(1);
    expect(p.playing).toBe(false);
  });

  it("stops everything at once on barge-in", () => {
    const { out, sources } = fakeOut();
    let idle = 0;
    const p = new PcmPlayer(out, 16000, () => idle++);
    p.enqueue(new ArrayBuffer(3200));
    p.enqueue(new ArrayBuffer(3200));
    p.stop();
    expect(sources.every((s) => s.stopped)).toBe(true);
    expect(idle).toBe(1);
    expect(p.playing).toBe(false);
    p.enqueue(new ArrayBuffer(320));
    expect((sources[2] as unknown as { start: number }).start).toBeCloseTo(10.05);
  });
});
