/**
 * Audio sample plumbing for voice mode: the microphone's float samples at the
 * audio context's rate -> signed 16-bit little-endian mono at the session's
 * rate, cut into fixed frames; and the server's PCM16 frames -> floats.
 */

/** Floats in [-1, 1] -> PCM16 (clipped). */
export function floatToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] ?? 0));
    out[i] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
  }
  return out;
}

/** PCM16 little-endian bytes -> floats in [-1, 1). An odd trailing byte is ignored. */
export function pcm16ToFloat(bytes: ArrayBuffer | Uint8Array): Float32Array<ArrayBuffer> {
  const view =
    bytes instanceof Uint8Array
      ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : new DataView(bytes);
  const n = Math.floor(view.byteLength / 2);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

/** Int16 samples -> little-endian bytes (explicitly, whatever the platform). */
export function pcm16Bytes(samples: Int16Array): ArrayBuffer {
  const buf = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buf);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i] ?? 0, true);
  return buf;
}

/**
 * A streaming sample-rate converter. Downsampling averages each output
 * sample's window of input (a box filter: enough against aliasing for speech
 * going to a recogniser); upsampling interpolates linearly. State is carried
 * between calls, so chunk boundaries do not matter.
 */
export class Resampler {
  private readonly ratio: number;
  private tail = new Float32Array(0);
  private pos = 0;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    if (!(from > 0 && to > 0)) throw new Error("sample rates must be positive");
    this.ratio = from / to;
  }

  process(input: Float32Array): Float32Array {
    if (this.from === this.to) return input;
    const buf = new Float32Array(this.tail.length + input.length);
    buf.set(this.tail);
    buf.set(input, this.tail.length);
    const out: number[] = [];
    let pos = this.pos;
    if (this.ratio > 1) {
      while (pos + this.ratio <= buf.length) {
        const start = Math.floor(pos);
        const end = Math.max(start + 1, Math.floor(pos + this.ratio));
        let sum = 0;
        for (let i = start; i < end; i++) sum += buf[i] ?? 0;
        out.push(sum / (end - start));
        pos += this.ratio;
      }
    } else {
      while (pos + 1 < buf.length) {
        const i = Math.floor(pos);
        const f = pos - i;
        out.push((buf[i] ?? 0) * (1 - f) + (buf[i + 1] ?? 0) * f);
        pos += this.ratio;
      }
    }
    const drop = Math.min(Math.floor(pos), buf.length);
    this.tail = buf.slice(drop);
    this.pos = pos - drop;
    return Float32Array.from(out);
  }
}

/** Cuts a stream of PCM16 samples into frames of exactly `frameSamples`. */
export class Framer {
  private pending = new Int16Array(0);

  constructor(readonly frameSamples: number) {
    if (!(frameSamples > 0)) throw new Error("frame size must be positive");
  }

  push(samples: Int16Array): ArrayBuffer[] {
    const all = new Int16Array(this.pending.length + samples.length);
    all.set(this.pending);
    all.set(samples, this.pending.length);
    const frames: ArrayBuffer[] = [];
    let at = 0;
    while (at + this.frameSamples <= all.length) {
      frames.push(pcm16Bytes(all.subarray(at, at + this.frameSamples)));
      at += this.frameSamples;
    }
    this.pending = all.slice(at);
    return frames;
  }
}

/**
 * The whole capture path in one object: float chunks at the context's rate
 * in, 20 ms PCM16 frames at the session's rate out.
 */
export class CapturePipeline {
  private readonly resampler: Resampler;
  private readonly framer: Framer;

  constructor(contextRate: number, sessionRate: number, frameMs = 20) {
    this.resampler = new Resampler(contextRate, sessionRate);
    this.framer = new Framer(Math.round((sessionRate * frameMs) / 1000));
  }

  push(chunk: Float32Array): ArrayBuffer[] {
    return this.framer.push(floatToPcm16(this.resampler.process(chunk)));
  }
}

/** Parse the rate out of `audio/pcm;rate=16000;encoding=s16le;channels=1`. */
export function rateOfFormat(format: string | null | undefined, fallback: number): number {
  const m = /(?:^|;)\s*rate=(\d+)/.exec(format ?? "");
  const rate = m ? Number(m[1]) : Number.NaN;
  return Number.isFinite(rate) && rate > 0 ? rate : fallback;
}
