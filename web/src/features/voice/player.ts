/**
 * Plays the answer's PCM16 frames gap-free on the WebAudio timeline, and
 * drops everything queued at once on barge-in.
 */
import { pcm16ToFloat } from "./pcm";

/** What the player needs of an AudioContext (tests pass a stand-in). */
export type AudioOut = {
  readonly currentTime: number;
  readonly destination: AudioNode;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBuffer;
  createBufferSource(): AudioBufferSourceNode;
};

/** Scheduling slack for the first frame after silence, seconds. */
const START_LEAD_S = 0.05;

export class PcmPlayer {
  private next = 0;
  private readonly sources = new Set<AudioBufferSourceNode>();
  private carry: Uint8Array | null = null;
  /** seconds of answer audio played to the end */
  playedS = 0;
  /** seconds of answer audio received */
  receivedS = 0;

  constructor(
    private readonly ctx: AudioOut,
    public rate: number,
    private readonly onIdle: () => void = () => {},
  ) {}

  get playing(): boolean {
    return this.sources.size > 0;
  }

  enqueue(frame: ArrayBuffer): void {
    let bytes = new Uint8Array(frame);
    if (this.carry) {
      const joined = new Uint8Array(this.carry.length + bytes.length);
      joined.set(this.carry);
      joined.set(bytes, this.carry.length);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes.slice(bytes.length - 1);
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const samples = pcm16ToFloat(bytes);
    if (samples.length === 0) return;
    const buffer = this.ctx.createBuffer(1, samples.length, this.rate);
    buffer.copyToChannel(samples, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.ctx.destination);
    const start = Math.max(
      this.next,
      this.ctx.currentTime + (this.sources.size ? 0 : START_LEAD_S),
    );
    const duration = samples.length / this.rate;
    this.next = start + duration;
    this.receivedS += duration;
    this.sources.add(src);
    src.onended = () => {
      if (!this.sources.delete(src)) return;
      this.playedS += duration;
      if (this.sources.size === 0) this.onIdle();
    };
    src.start(start);
  }

  /** Barge-in: silence now and forget everything queued. */
  stop(): void {
    const playing = [...this.sources];
    this.sources.clear();
    for (const src of playing) {
      src.onended = null;
      try {
        src.stop();
      } catch {
        // not started yet in some engines: dropping it is enough
      }
      src.disconnect();
    }
    this.next = 0;
    this.carry = null;
    if (playing.length) this.onIdle();
  }
}
