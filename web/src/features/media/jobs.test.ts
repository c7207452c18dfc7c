/**
 * followJob against a real HTTP server on 127.0.0.1 speaking aihub's media
 * event stream: ids, Last-Event-ID resume after a dropped connection, 204
 * once the job is over, errors.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { applyJobEvent, type FollowOptions, followJob, type JobEvent, type MediaJob } from "./jobs";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server | null = null;

async function serve(handler: Handler): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

function frame(id: number, event: string, data: object): string {
  return `event: ${event}\ndata: ${JSON.stringify({ job_id: 1, ...data })}\nid: ${id}\n\n`;
}

const EVENTS: [string, object][] = [
  ["queued", { status: "queued", priority: "interactive" }],
  ["started", { status: "running", attempt: 1 }],
  ["progress", { status: "running", percent: 40, stage: "image-generation-flow" }],
  ["progress", { status: "running", percent: 80, stage: "image-generation-flow" }],
  [
    "completed",
    {
      status: "completed",
      artifacts: [
        {
          url: "/api/files/abc",
          media_type: "image/png",
          bytes: 10,
          width: 8,
          height: 8,
          duration_s: null,
        },
      ],
    },
  ],
];

function memoryStore(initial: number | null = null) {
  const values = new Map<number, number>();
  if (initial !== null) values.set(1, initial);
  return {
    values,
    get: (id: number) => values.get(id) ?? null,
    set: (id: number, v: number) => void values.set(id, v),
    clear: (id: number) => void values.delete(id),
  };
}

function options(base: string, extra: Partial<FollowOptions> = {}) {
  const seen: JobEvent[] = [];
  const opts: FollowOptions = {
    jobId: 1,
    baseUrl: base,
    fetch: (req) => fetch(req),
    onEvent: (ev) => seen.push(ev),
    signal: new AbortController().signal,
    backoffMs: [0],
    store: memoryStore(),
    ...extra,
  };
  return { opts, seen };
}

describe("followJob", () => {
  it("resumes with Last-Event-ID after a drop and stops at the final event", async () => {
    const asked: (string | undefined)[] = [];
    const base = await serve((req, res) => {
      const after = Number(req.headers["last-event-id"] ?? 0);
      asked.push(req.headers["last-event-id"] as string | undefined);
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      if (asked.length === 1) {
        // three events, then the connection drops mid-frame
        res.write(
          EVENTS.slice(0, 3)
            .map(([e, d], i) => frame(i + 1, e, d))
            .join(""),
        );
        res.write('event: progress\ndata: {"job_');
        setTimeout(() => res.destroy(), 100);
        return;
      }
      // a server that replays one event too many: the client skips it
      res.end(
        EVENTS.map(([e, d], i) => (i + 1 >= after ? frame(i + 1, e, d) : ""))
          .join("")
          .concat(": ping\n\n"),
      );
    });
    const store = memoryStore();
    const { opts, seen } = options(base, { store });
    await expect(followJob(opts)).resolves.toBe("final");
    expect(asked).toEqual([undefined, "3"]);
    expect(seen.map((e) => [e.id, e.event])).toEqual([
      [1, "queued"],
      [2, "started"],
      [3, "progress"],
      [4, "progress"],
      [5, "completed"],
    ]);
    expect(store.values.size).toBe(0); // forgotten once final
  });

  it("starts from the stored id (a reload) and records each new one", async () => {
    const asked: (string | undefined)[] = [];
    const stored: number[] = [];
    const base = await serve((req, res) => {
      asked.push(req.headers["last-event-id"] as string | undefined);
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.end(
        frame(4, ...(EVENTS[3] as [string, object])) + frame(5, ...(EVENTS[4] as [string, object])),
      );
    });
    const store = memoryStore(3);
    const set = store.set;
    store.set = (id, v) => {
      stored.push(v);
      set(id, v);
    };
    const { opts, seen } = options(base, { store });
    await followJob(opts);
    expect(asked).toEqual(["3"]);
    expect(stored).toEqual([4, 5]);
    expect(seen.map((e) => e.event)).toEqual(["progress", "completed"]);
  });

  it("answers 'over' on 204 and throws on 404", async () => {
    const base = await serve((req, res) => {
      if (req.url?.startsWith("/api/media/jobs/1/")) {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end('{"error":true,"error_message":"Job not found","error_type":"not_found"}');
      }
    });
    const { opts } = options(base, { store: memoryStore(5) });
    await expect(followJob(opts)).resolves.toBe("over");
    await expect(followJob({ ...opts, jobId: 2 })).rejects.toThrow("HTTP 404");
  });

  it("retries a 503 and stops when aborted", async () => {
    let calls = 0;
    const ctrl = new AbortController();
    const base = await serve((_req, res) => {
      calls += 1;
      if (calls === 3) ctrl.abort();
      res.writeHead(503);
      res.end();
    });
    const { opts } = options(base, { signal: ctrl.signal });
    await expect(followJob(opts)).resolves.toBe("aborted");
    expect(calls).toBe(3);
  });
});

describe("applyJobEvent", () => {
  const job: MediaJob = {
    id: 1,
    kind: "image",
    provider: "superduperai",
    model: "imagen4",
    prompt: "fox",
    status: "queued",
    priority: "normal",
    percent: 0,
    stage: "queued",
    count: 1,
    width: 1024,
    height: 1024,
    duration: null,
    quality: null,
    input_image: null,
    attempts: 0,
    error_type: null,
    error_message: null,
    cost: 0,
    artifacts: [],
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    started_at: null,
    finished_at: null,
  };
  const ev = (event: string, data: Record<string, unknown>): JobEvent => ({ event, id: 1, data });

  it("moves a job through its life", () => {
    let j = applyJobEvent(job, ev("started", { status: "running", attempt: 1 }));
    expect([j.status, j.attempts]).toEqual(["running", 1]);
    j = applyJobEvent(j, ev("progress", { status: "running", percent: 66.7, stage: "flow" }));
    expect([j.percent, j.stage]).toEqual([66.7, "flow"]);
    j = applyJobEvent(j, ev("progress", { status: "running", percent: null, stage: "upscale" }));
    expect([j.percent, j.stage]).toEqual([66.7, "upscale"]);
    j = applyJobEvent(
      j,
      ev("completed", {
        status: "completed",
        artifacts: [
          { url: "u", media_type: "image/png", bytes: 3, width: 8, height: 8, duration_s: null },
        ],
      }),
    );
    expect(j.status).toBe("completed");
    expect(j.percent).toBe(100);
    expect(j.artifacts).toEqual([
      { url: "u", media_type: "image/png", bytes: 3, width: 8, height: 8, duration_s: null },
    ]);
    expect(job.status).toBe("queued"); // the input is untouched
  });

  it("records failures and retries", () => {
    const retry = applyJobEvent(
      { ...job, status: "running" },
      ev("queued", { status: "queued", reason: "upstream 503" }),
    );
    expect([retry.status, retry.stage]).toEqual(["queued", "retrying"]);
    const failed = applyJobEvent(
      job,
      ev("failed", {
        status: "failed",
        error_message: "Bad prompt",
        error_type: "invalid_request",
      }),
    );
    expect([failed.status, failed.error_message, failed.error_type]).toEqual([
      "failed",
      "Bad prompt",
      "invalid_request",
    ]);
    expect(applyJobEvent(job, ev("cancelled", { status: "cancelled" })).status).toBe("cancelled");
  });
});
