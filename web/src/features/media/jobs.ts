/**
 * Media jobs on the client: applying SSE events to a job, following a job's
 * event stream with resume (Last-Event-ID), and remembering the last event
 * seen per job so a reload picks up where it left off.
 */
import type { Schemas } from "../../api/client";
import { readSse } from "./sse";

export type MediaJob = Schemas["MediaJobRead"];
export type Artifact = Schemas["ArtifactRead"];
export type JobStatus = MediaJob["status"];

/** One event of GET /api/media/jobs/{id}/events, its JSON data decoded. */
export type JobEvent = { event: string; id: number | null; data: Record<string, unknown> };

export const FINAL_EVENTS = new Set(["completed", "failed", "cancelled"]);
export const ACTIVE: ReadonlySet<JobStatus> = new Set(["queued", "running"]);

export function isActive(job: Pick<MediaJob, "status">): boolean {
  return ACTIVE.has(job.status);
}

const STATUSES: ReadonlySet<string> = new Set([
  "queued",
  "running",
  "completed",
  "failed",
  "cancelled",
]);

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function artifacts(v: unknown): Artifact[] | null {
  if (!Array.isArray(v)) return null;
  return v
    .filter((a): a is Record<string, unknown> => Boolean(a) && typeof a === "object")
    .map((a) => ({
      url: String(a.url ?? ""),
      media_type: String(a.media_type ?? "application/octet-stream"),
      bytes: num(a.bytes) ?? 0,
      width: num(a.width),
      height: num(a.height),
      duration_s: num(a.duration_s),
    }));
}

/** The job as it stands after `ev` (a new object; the input is not changed). */
export function applyJobEvent(job: MediaJob, ev: JobEvent): MediaJob {
  const d = ev.data;
  const next: MediaJob = { ...job };
  const status = str(d.status);
  if (status && STATUSES.has(status)) next.status = status as JobStatus;
  switch (ev.event) {
    case "queued":
      next.status = "queued";
      next.stage = str(d.reason) ? "retrying" : "queued";
      break;
    case "started":
      next.status = "running";
      next.attempts = num(d.attempt) ?? next.attempts;
      next.stage = "started";
      break;
    case "progress": {
      // percent is null when the provider gives none: keep the last one
      const percent = num(d.percent);
      if (percent !== null) next.percent = Math.max(0, Math.min(100, percent));
      next.stage = str(d.stage) ?? next.stage;
      break;
    }
    case "completed":
      next.status = "completed";
      next.percent = 100;
      next.stage = "completed";
      next.artifacts = artifacts(d.artifacts) ?? next.artifacts;
      break;
    case "failed":
      next.status = "failed";
      next.error_message = str(d.error_message) ?? next.error_message;
      next.error_type = str(d.error_type) ?? next.error_type;
      break;
    case "cancelled":
      next.status = "cancelled";
      break;
  }
  return next;
}

/** Decode a raw SSE event; null for one that is not a JSON object. */
export function decodeJobEvent(raw: {
  event: string;
  data: string;
  id: string | null;
}): JobEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(raw.data);
  } catch {
    return null;
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  const id = raw.id !== null && /^\d+$/.test(raw.id) ? Number(raw.id) : null;
  return { event: raw.event, id, data: data as Record<string, unknown> };
}

// ---- last event seen, per job (survives a reload) ----

const PREFIX = "aihub.media.last-event.";

export const lastEventStore = {
  get(jobId: number): number | null {
    try {
      const v = localStorage.getItem(PREFIX + jobId);
      return v && /^\d+$/.test(v) ? Number(v) : null;
    } catch {
      return null;
    }
  },
  set(jobId: number, id: number): void {
    try {
      localStorage.setItem(PREFIX + jobId, String(id));
    } catch {
      // storage full or disabled: resume replays from the start, still correct
    }
  },
  clear(jobId: number): void {
    try {
      localStorage.removeItem(PREFIX + jobId);
    } catch {
      // nothing stored
    }
  },
};

export type FollowOptions = {
  jobId: number;
  /** fetch taking a Request (the app passes authFetch) */
  fetch: (req: Request) => Promise<Response>;
  onEvent: (ev: JobEvent) => void;
  signal: AbortSignal;
  /** where the API lives (default: this page's origin) */
  baseUrl?: string;
  /** resume after this event id (default: the stored one) */
  lastEventId?: number | null;
  /** reconnect delays in ms, the last repeated (tests pass zeros) */
  backoffMs?: readonly number[];
  /** persist ids (default lastEventStore) */
  store?: Pick<typeof lastEventStore, "get" | "set" | "clear">;
};

export type FollowEnd = "final" | "over" | "aborted";

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Follow a job until its final event: connect, apply events, and on a dropped
 * connection reconnect with Last-Event-ID so nothing is missed or repeated.
 * Resolves "final" after a completed/failed/cancelled event, "over" when the
 * server answers 204 (the job ended and every event was already seen), or
 * "aborted". An HTTP error other than 5xx is thrown (e.g. 404: not yours).
 */
export async function followJob(opts: FollowOptions): Promise<FollowEnd> {
  const store = opts.store ?? lastEventStore;
  const backoff = opts.backoffMs ?? [500, 1000, 2000, 5000];
  const base =
    opts.baseUrl ?? (typeof window === "undefined" ? "http://127.0.0.1" : window.location.origin);
  let last = opts.lastEventId !== undefined ? opts.lastEventId : store.get(opts.jobId);
  let failures = 0;
  while (!opts.signal.aborted) {
    const headers = new Headers({ Accept: "text/event-stream" });
    if (last !== null) headers.set("Last-Event-ID", String(last));
    let res: Response;
    try {
      res = await opts.fetch(
        new Request(`${base}/api/media/jobs/${opts.jobId}/events`, {
          headers,
          signal: opts.signal,
        }),
      );
    } catch (err) {
      if (opts.signal.aborted) return "aborted";
      failures += 1;
      await wait(backoff[Math.min(failures, backoff.length) - 1] ?? 1000, opts.signal);
      if (failures > 1000) throw err;
      continue;
    }
    if (res.status === 204) {
      store.clear(opts.jobId);
      return "over";
    }
    if (!res.ok || !res.body) {
      if (res.status >= 500 || res.status === 429) {
        failures += 1;
        await wait(backoff[Math.min(failures, backoff.length) - 1] ?? 1000, opts.signal);
        continue;
      }
      throw new Error(`Job ${opts.jobId} events: HTTP ${res.status}`);
    }
    try {
      for await (const raw of readSse(res.body)) {
        const ev = decodeJobEvent(raw);
        if (!ev) continue;
        if (ev.id !== null) {
          if (last !== null && ev.id <= last) continue; // a replayed event
          last = ev.id;
          store.set(opts.jobId, ev.id);
        }
        failures = 0;
        opts.onEvent(ev);
        if (FINAL_EVENTS.has(ev.event)) {
          store.clear(opts.jobId);
          return "final";
        }
      }
    } catch {
      if (opts.signal.aborted) return "aborted";
    }
    // the stream ended without a final event: reconnect from `last`
    failures += 1;
    await wait(backoff[Math.min(failures, backoff.length) - 1] ?? 1000, opts.signal);
  }
  return "aborted";
}
