/**
 * Batches stream deltas per animation frame: tokens arrive as often as the
 * network delivers them, the screen updates at most once per frame with all of
 * them joined. Scheduler injectable for tests.
 */

export interface Scheduler {
  request(cb: () => void): number;
  cancel(handle: number): void;
}

export const animationFrames: Scheduler = {
  request: (cb) => requestAnimationFrame(() => cb()),
  cancel: (h) => cancelAnimationFrame(h),
};

/**
 * What the last screen update cost (render + commit, ms), reported by the
 * component that shows the streamed text. The batcher spaces its updates to
 * keep that work to about a third of the main thread, so a long answer never
 * turns every frame into a long task (the gap is capped to bound the lag).
 */
let lastPaintCostMs = 0;
export const MAX_GAP_MS = 66;
export function reportPaintCost(ms: number): void {
  lastPaintCostMs = ms;
}
export const paintGapMs = (): number => Math.min(MAX_GAP_MS, lastPaintCostMs * 3);

export class FrameBatcher {
  private pending: string[] = [];
  private handle: number | null = null;
  private lastFlush = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly flushTo: (text: string) => void,
    private readonly scheduler: Scheduler = animationFrames,
    private readonly minGapMs: () => number = paintGapMs,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(delta: string): void {
    if (!delta) return;
    this.pending.push(delta);
    if (this.handle === null) this.schedule();
  }

  private schedule(): void {
    this.handle = this.scheduler.request(() => {
      this.handle = null;
      if (this.now() - this.lastFlush < this.minGapMs()) {
        this.schedule(); // the last update was costly: let a frame go by
        return;
      }
      this.flush();
    });
  }

  /** Delivers what is pending now (the stream ended, or a frame fired). */
  flush(): void {
    if (this.handle !== null) {
      this.scheduler.cancel(this.handle);
      this.handle = null;
    }
    if (this.pending.length === 0) return;
    const text = this.pending.join("");
    this.pending = [];
    this.lastFlush = this.now();
    this.flushTo(text);
  }

  dispose(): void {
    if (this.handle !== null) this.scheduler.cancel(this.handle);
    this.handle = null;
    this.pending = [];
  }
}
