/**
 * One generated file. Files are served to their owner only (bearer token), so
 * the bytes are fetched with the token and shown from a blob: URL, which also
 * makes the download link work without a second request.
 */
import { useEffect, useState } from "react";
import { authFetch } from "../../api/fetch";
import type { Artifact } from "./jobs";

function extension(mediaType: string): string {
  const sub = mediaType.split("/")[1] ?? "bin";
  return sub === "jpeg" ? "jpg" : sub.replace(/[^a-z0-9]/gi, "") || "bin";
}

/** A same-origin path for a file link the server made absolute. */
function localPath(url: string): string {
  try {
    const u = new URL(url, window.location.href);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

export function ArtifactView({
  artifact,
  alt,
  jobId,
  index,
}: {
  artifact: Artifact;
  alt: string;
  jobId: number;
  index: number;
}) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const ctrl = new AbortController();
    let url: string | null = null;
    authFetch(
      new Request(new URL(localPath(artifact.url), window.location.origin), {
        signal: ctrl.signal,
      }),
    )
      .then(async (res) => {
        if (!res.ok) throw new Error(String(res.status));
        url = URL.createObjectURL(await res.blob());
        setSrc(url);
      })
      .catch(() => {
        if (!ctrl.signal.aborted) setFailed(true);
      });
    return () => {
      ctrl.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [artifact.url]);

  const name = `aihub-${jobId}-${index + 1}.${extension(artifact.media_type)}`;
  const video = artifact.media_type.startsWith("video/");
  return (
    <figure className="media-artifact">
      {failed ? (
        <p className="form-error">Could not load the file.</p>
      ) : !src ? (
        <div className="media-placeholder" aria-hidden="true" />
      ) : video ? (
        // biome-ignore lint/a11y/useMediaCaption: generated video has no speech to caption
        <video src={src} controls preload="metadata" aria-label={alt} />
      ) : (
        <img
          src={src}
          alt={alt}
          loading="lazy"
          width={artifact.width ?? undefined}
          height={artifact.height ?? undefined}
        />
      )}
      <figcaption>
        {src ? (
          <a href={src} download={name} className="btn btn-ghost">
            Download <span className="sr-only">{alt}</span>
          </a>
        ) : null}
      </figcaption>
    </figure>
  );
}
