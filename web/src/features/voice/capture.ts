/**
 * Microphone capture: raw float samples from an AudioWorklet (a
 * ScriptProcessor where worklets are missing), handed to the caller in
 * chunks; the caller turns them into the session's PCM frames.
 */

const WORKLET = `
class AihubCapture extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Float32Array(2048); this.n = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      for (let i = 0; i < ch.length; i++) {
        this.buf[this.n++] = ch[i];
        if (this.n === this.buf.length) { this.port.postMessage(this.buf.slice(0)); this.n = 0; }
      }
    }
    return true;
  }
}
registerProcessor("aihub-capture", AihubCapture);
`;

export type Capture = { stop: () => void };

export async function startCapture(
  ctx: AudioContext,
  stream: MediaStream,
  onChunk: (samples: Float32Array) => void,
): Promise<Capture> {
  const source = ctx.createMediaStreamSource(stream);
  // processing nodes only run when pulled by the destination: through silence
  const mute = ctx.createGain();
  mute.gain.value = 0;
  mute.connect(ctx.destination);
  let node: AudioNode;
  if (ctx.audioWorklet && typeof AudioWorkletNode !== "undefined") {
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    try {
      await ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const worklet = new AudioWorkletNode(ctx, "aihub-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: "explicit",
    });
    worklet.port.onmessage = (e: MessageEvent<Float32Array>) => onChunk(e.data);
    node = worklet;
  } else {
    const proc = ctx.createScriptProcessor(2048, 1, 1);
    proc.onaudioprocess = (e) => onChunk(new Float32Array(e.inputBuffer.getChannelData(0)));
    node = proc;
  }
  source.connect(node);
  node.connect(mute);
  return {
    stop() {
      source.disconnect();
      node.disconnect();
      mute.disconnect();
      if (typeof AudioWorkletNode !== "undefined" && node instanceof AudioWorkletNode) {
        node.port.onmessage = null;
      }
      for (const track of stream.getTracks()) track.stop();
    },
  };
}
