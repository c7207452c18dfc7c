/**
 * Media: generate images and videos (models of kind image/video from the
 * catalog), a gallery of jobs with live progress over SSE that resumes after
 * a reload (Last-Event-ID), cancel and download.
 */
import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useMemo, useRef, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { authFetch } from "../../api/fetch";
import { Button } from "../../ui/Button";
import { EmptyState } from "../../ui/EmptyState";
import { Spinner } from "../../ui/Spinner";
import { toastError } from "../../ui/Toast";
import { formatUsd } from "../usage/series";
import { ArtifactView } from "./ArtifactView";
import { applyJobEvent, followJob, isActive, type JobEvent, type MediaJob } from "./jobs";
import "./media.css";

type Model = Schemas["AvailableModel"];
type Kind = "image" | "video";
const JOBS_KEY = ["media-jobs"] as const;

function modelKey(m: Pick<Model, "provider" | "id">): string {
  return `${m.provider}/${m.id}`;
}

function patchJob(qc: QueryClient, id: number, update: (j: MediaJob) => MediaJob) {
  qc.setQueryData<MediaJob[]>(JOBS_KEY, (list) => list?.map((j) => (j.id === id ? update(j) : j)));
}

/** Follow every active job once; events update the cached list in place. */
function useFollowActiveJobs(jobs: MediaJob[] | undefined, announce: (text: string) => void) {
  const qc = useQueryClient();
  const following = useRef(new Map<number, AbortController>());
  const announceRef = useRef(announce);
  announceRef.current = announce;

  useEffect(() => {
    for (const job of jobs ?? []) {
      if (!isActive(job) || following.current.has(job.id)) continue;
      const ctrl = new AbortController();
      following.current.set(job.id, ctrl);
      const kind = job.kind === "video" ? "Video" : "Image";
      followJob({
        jobId: job.id,
        fetch: authFetch,
        signal: ctrl.signal,
        onEvent: (ev: JobEvent) => {
          patchJob(qc, job.id, (j) => applyJobEvent(j, ev));
          if (ev.event === "completed") announceRef.current(`${kind} ${job.id} is ready.`);
          if (ev.event === "failed") announceRef.current(`${kind} ${job.id} failed.`);
        },
      })
        .then((end) => {
          // the final figures (cost, finished_at) come with the job itself
          if (end !== "aborted") qc.invalidateQueries({ queryKey: JOBS_KEY });
        })
        .catch(() => qc.invalidateQueries({ queryKey: JOBS_KEY }))
        .finally(() => {
          if (following.current.get(job.id) === ctrl) following.current.delete(job.id);
        });
    }
  }, [jobs, qc]);

  useEffect(() => {
    const map = following.current;
    return () => {
      for (const ctrl of map.values()) ctrl.abort();
      map.clear();
    };
  }, []);
}

function GenerateForm({
  models,
  onSubmitted,
}: {
  models: Model[];
  onSubmitted: (job: MediaJob) => void;
}) {
  const [kind, setKind] = useState<Kind>("image");
  const choices = useMemo(() => models.filter((m) => m.kind === kind), [models, kind]);
  const [selected, setSelected] = useState("");
  const model = choices.find((m) => modelKey(m) === selected) ?? choices[0];
  const accepts = model?.accepts ?? null;
  const [prompt, setPrompt] = useState("");
  const [size, setSize] = useState("");
  const [count, setCount] = useState(1);
  const [duration, setDuration] = useState<number | "">("");
  const [quality, setQuality] = useState("");
  const [error, setError] = useState<string | null>(null);
  const ids = {
    kind: useId(),
    model: useId(),
    prompt: useId(),
    size: useId(),
    count: useId(),
    duration: useId(),
    quality: useId(),
  };

  const sizes = accepts?.sizes ?? [];
  const maxCount = accepts?.count?.max ?? 1;
  const durations = accepts?.duration ?? null;
  const qualities = accepts?.qualities ?? [];

  const submit = useMutation({
    mutationFn: (body: Schemas["MediaJobCreate"]) => unwrap(api.POST("/api/media/jobs", { body })),
    onSuccess: (job) => {
      setPrompt("");
      onSubmitted(job);
    },
    onError: (e: Error) => setError(e.message),
  });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!model)
      return setError(
        `No ${kind} model is available: add a key for a provider that makes ${kind}s.`,
      );
    if (!prompt.trim()) return setError("Describe what to generate.");
    const body: Schemas["MediaJobCreate"] = {
      kind,
      provider: model.provider as Schemas["MediaJobCreate"]["provider"],
      model: model.id,
      prompt: prompt.trim(),
      count: Math.min(Math.max(1, count), maxCount),
      priority: "interactive",
    };
    const chosenSize = size && sizes.includes(size) ? size : sizes[0];
    if (chosenSize) body.size = chosenSize;
    if (kind === "video" && durations) body.duration = duration === "" ? durations.min : duration;
    const q = quality && qualities.includes(quality) ? quality : undefined;
    if (q) body.quality = q;
    submit.mutate(body);
  }

  return (
    <form className="media-form stack" onSubmit={onSubmit} aria-labelledby="media-new-h">
      <h2 id="media-new-h">New</h2>
      <fieldset className="row media-kind">
        <legend className="sr-only">Kind</legend>
        {(["image", "video"] as const).map((k) => (
          <label key={k} className="row">
            <input
              type="radio"
              name={ids.kind}
              value={k}
              checked={kind === k}
              onChange={() => {
                setKind(k);
                setSelected("");
                setSize("");
                setQuality("");
                setDuration("");
              }}
            />
            {k === "image" ? "Image" : "Video"}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={ids.model}>Model</label>
        <select
          id={ids.model}
          value={model ? modelKey(model) : ""}
          onChange={(e) => setSelected(e.target.value)}
          disabled={!choices.length}
        >
          {choices.length ? null : <option value="">No {kind} models available</option>}
          {choices.map((m) => (
            <option key={modelKey(m)} value={modelKey(m)}>
              {m.name} ({m.provider})
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.prompt}>Prompt</label>
        <textarea
          id={ids.prompt}
          rows={3}
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          placeholder={
            kind === "image" ? "A red fox in snow, soft morning light" : "Waves at dusk, slow pan"
          }
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey))
              (e.currentTarget.form as HTMLFormElement).requestSubmit();
          }}
        />
      </div>
      <div className="row wrap media-options">
        {sizes.length ? (
          <div className="field">
            <label htmlFor={ids.size}>Size</label>
            <select
              id={ids.size}
              value={size || sizes[0]}
              onChange={(e) => setSize(e.target.value)}
            >
              {sizes.map((s) => (
                <option key={s} value={s}>
                  {s.replace("x", " × ")}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        {maxCount > 1 ? (
          <div className="field">
            <label htmlFor={ids.count}>How many</label>
            <input
              id={ids.count}
              type="number"
              min={1}
              max={maxCount}
              value={count}
              onChange={(e) => setCount(Number(e.target.value) || 1)}
            />
          </div>
        ) : null}
        {kind === "video" && durations ? (
          <div className="field">
            <label htmlFor={ids.duration}>Seconds</label>
            <input
              id={ids.duration}
              type="number"
              min={durations.min}
              max={durations.max}
              value={duration === "" ? durations.min : duration}
              onChange={(e) => setDuration(Number(e.target.value) || "")}
            />
          </div>
        ) : null}
        {qualities.length ? (
          <div className="field">
            <label htmlFor={ids.quality}>Quality</label>
            <select
              id={ids.quality}
              value={quality || qualities[0]}
              onChange={(e) => setQuality(e.target.value)}
            >
              {qualities.map((q) => (
                <option key={q} value={q}>
                  {q}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="row end">
        <Button type="submit" variant="primary" busy={submit.isPending} disabled={!choices.length}>
          Generate {kind}
        </Button>
      </div>
    </form>
  );
}

const STATUS_LABEL: Record<MediaJob["status"], string> = {
  queued: "Queued",
  running: "Generating",
  completed: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

function JobCard({ job }: { job: MediaJob }) {
  const qc = useQueryClient();
  const cancel = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE("/api/media/jobs/{job_id}", { params: { path: { job_id: job.id } } })),
    onSuccess: (j) => patchJob(qc, job.id, () => j),
    onError: (e: Error) => toastError(e.message),
  });
  const active = isActive(job);
  const percent = Math.round(job.percent);
  const title = `${job.kind === "video" ? "Video" : "Image"} ${job.id}`;
  return (
    <li className={`media-card media-${job.status}`} aria-label={title}>
      <div className="media-preview">
        {job.artifacts.length ? (
          job.artifacts.map((a, i) => (
            <ArtifactView
              key={a.url}
              artifact={a}
              alt={`${job.prompt} (${i + 1})`}
              jobId={job.id}
              index={i}
            />
          ))
        ) : (
          <div className="media-placeholder" aria-hidden="true">
            {job.kind === "video" ? "🎬" : "🖼"}
          </div>
        )}
      </div>
      <div className="media-meta">
        <p className="media-prompt">{job.prompt}</p>
        <p className="muted media-model">
          {job.model} · {job.provider}
          {job.width && job.height ? ` · ${job.width}×${job.height}` : ""}
          {job.duration ? ` · ${job.duration}s` : ""}
          {job.cost ? ` · ${formatUsd(job.cost)}` : ""}
        </p>
        <p className="media-status">
          <span className={`media-badge media-badge-${job.status}`}>
            {STATUS_LABEL[job.status]}
          </span>
          {active && job.stage ? <span className="muted"> {job.stage}</span> : null}
        </p>
        {active ? (
          <progress
            className="media-progress"
            max={100}
            value={job.status === "queued" ? undefined : percent}
            aria-label={`${title} progress`}
            aria-valuetext={job.status === "queued" ? "queued" : `${percent}%`}
          />
        ) : null}
        {job.status === "failed" && job.error_message ? (
          <p className="form-error">{job.error_message}</p>
        ) : null}
        {active ? (
          <Button
            variant="ghost"
            busy={cancel.isPending}
            onClick={() => cancel.mutate()}
            aria-label={`Cancel ${title}`}
          >
            Cancel
          </Button>
        ) : null}
      </div>
    </li>
  );
}

export default function MediaPage() {
  const qc = useQueryClient();
  const [announcement, setAnnouncement] = useState("");
  const models = useQuery({
    queryKey: ["models"],
    queryFn: () => unwrap(api.GET("/api/models/available")),
    staleTime: 5 * 60_000,
  });
  const jobs = useQuery({
    queryKey: JOBS_KEY,
    queryFn: () => unwrap(api.GET("/api/media/jobs", { params: { query: { limit: 60 } } })),
  });
  // the providers the caller holds a usable key for (own or global)
  const pools = useQuery({
    queryKey: ["media", "pools"],
    queryFn: () => unwrap(api.GET("/api/status")),
    staleTime: 60_000,
  });
  useFollowActiveJobs(jobs.data, setAnnouncement);
  const usable = pools.data
    ? new Set(
        Object.entries(pools.data.providers)
          .filter(([, p]) => p.status !== "INVALID")
          .map(([name]) => name),
      )
    : null;
  const mediaModels = (models.data?.models ?? []).filter(
    (m) => (m.kind === "image" || m.kind === "video") && (!usable || usable.has(m.provider)),
  );

  return (
    <section className="page media-page" aria-labelledby="media-h">
      <h1 id="media-h">Media</h1>
      <p className="sr-only" aria-live="polite">
        {announcement}
      </p>
      {models.isLoading || pools.isLoading ? (
        <Spinner label="Loading models" />
      ) : (
        <GenerateForm
          models={mediaModels}
          onSubmitted={(job) => {
            qc.setQueryData<MediaJob[]>(JOBS_KEY, (list) => [
              job,
              ...(list ?? []).filter((j) => j.id !== job.id),
            ]);
            setAnnouncement(`${job.kind === "video" ? "Video" : "Image"} ${job.id} queued.`);
          }}
        />
      )}
      <section aria-labelledby="media-gallery-h" className="media-gallery-section">
        <h2 id="media-gallery-h">Gallery</h2>
        {jobs.isLoading ? <Spinner label="Loading jobs" /> : null}
        {jobs.error ? (
          <p className="form-error" role="alert">
            {jobs.error.message}
          </p>
        ) : null}
        {jobs.data && jobs.data.length === 0 ? (
          <EmptyState title="Nothing generated yet">
            <p>Describe an image or a video above; it appears here with live progress.</p>
          </EmptyState>
        ) : null}
        {jobs.data?.length ? (
          <ul className="media-gallery">
            {jobs.data.map((j) => (
              <JobCard key={j.id} job={j} />
            ))}
          </ul>
        ) : null}
      </section>
    </section>
  );
}
