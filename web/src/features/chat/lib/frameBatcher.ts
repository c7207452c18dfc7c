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

export class FrameBatcher {
  private pending: string[] = [];
  private handle: number | null = null;

  constructor(
    private readonly flushTo: (text: string) => void,
    private readonly scheduler: Scheduler = animationFrames,
  ) {}

  push(delta: string): void {
    if (!delta) return;
    this.pending.push(delta);
    if (this.handle === null) {
      this.handle = this.scheduler.request(() => {
        this.handle = null;
        this.flush();
      });
    }
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
    this.flushTo(text);
  }

  dispose(): void {
    if (this.handle !== null) this.scheduler.cancel(this.handle);
    this.handle = null;
    this.pending = [];
  }
}
