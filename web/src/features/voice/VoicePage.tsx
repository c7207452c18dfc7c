/**
 * Voice mode: talk to a model through the microphone, hear the answer, talk
 * over it to interrupt. Every turn is saved to a thread (/voice/:threadId
 * follows it, and a reload can resume the same session).
 */
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useCallback, useId, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { formatUsd } from "../usage/series";
import type { Phase, Turn } from "./protocol";
import { type SessionConfig, sessionStore, useVoice } from "./useVoice";
import "./voice.css";

const PHASE_TEXT: Record<Phase, string> = {
  idle: "Not connected",
  connecting: "Connecting…",
  listening: "Listening",
  hearing: "Hearing you…",
  thinking: "Thinking…",
  speaking: "Speaking — talk to interrupt",
  ended: "Session ended",
};

function SetupForm({ onStart, busy }: { onStart: (c: SessionConfig) => void; busy: boolean }) {
  const [language, setLanguage] = useState<"auto" | "en" | "ru">("en");
  const [stt, setStt] = useState<"auto" | "local" | "openai" | "openai_compatible">("auto");
  const [tts, setTts] = useState<
    "auto" | "piper" | "espeak" | "openai" | "openai_compatible" | "none"
  >("auto");
  const [model, setModel] = useState("");
  const [prompt, setPrompt] = useState("");
  const ids = { lang: useId(), stt: useId(), tts: useId(), model: useId(), prompt: useId() };
  const models = useQuery({
    queryKey: ["models"],
    queryFn: () => unwrap(api.GET("/api/models/available")),
    staleTime: 5 * 60_000,
  });
  const chat = (models.data?.models ?? []).filter((m) => (m.kind ?? "chat") === "chat");

  function submit(e: FormEvent) {
    e.preventDefault();
    const config: SessionConfig = {
      language,
      stt: { provider: stt },
      tts: { provider: tts },
      audio_format: { encoding: "pcm16", sample_rate: 16000 },
      title: "Voice session",
    };
    if (model) {
      const [provider, ...rest] = model.split("/");
      config.provider = provider ?? null;
      config.model = rest.join("/");
    }
    if (prompt.trim()) config.system_prompt = prompt.trim();
    onStart(config);
  }

  return (
    <form className="voice-setup stack" onSubmit={submit}>
      <div className="row wrap voice-options">
        <div className="field">
          <label htmlFor={ids.lang}>Language</label>
          <select
            id={ids.lang}
            value={language}
            onChange={(e) => setLanguage(e.target.value as typeof language)}
          >
            <option value="en">English</option>
            <option value="ru">Russian</option>
            <option value="auto">Detect</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.stt}>Speech recognition</label>
          <select id={ids.stt} value={stt} onChange={(e) => setStt(e.target.value as typeof stt)}>
            <option value="auto">Automatic</option>
            <option value="local">On the server (Whisper, English)</option>
            <option value="openai">OpenAI</option>
            <option value="openai_compatible">OpenAI-compatible server</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.tts}>Voice</label>
          <select id={ids.tts} value={tts} onChange={(e) => setTts(e.target.value as typeof tts)}>
            <option value="auto">Automatic</option>
            <option value="piper">Piper (English)</option>
            <option value="espeak">eSpeak</option>
            <option value="openai">OpenAI</option>
            <option value="openai_compatible">OpenAI-compatible server</option>
            <option value="none">No speech (text only)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.model}>Model</label>
          <select id={ids.model} value={model} onChange={(e) => setModel(e.target.value)}>
            <option value="">Your default</option>
            {chat.map((m) => (
              <option key={`${m.provider}/${m.id}`} value={`${m.provider}/${m.id}`}>
                {m.name} ({m.provider})
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor={ids.prompt}>Instructions (optional)</label>
        <textarea
          id={ids.prompt}
          rows={2}
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          placeholder="e.g. You take bookings for Bistro Nord."
        />
      </div>
      <div className="row end">
        <Button type="submit" variant="primary" busy={busy}>
          Start talking
        </Button>
      </div>
    </form>
  );
}

function TurnView({ turn }: { turn: Turn }) {
  const tag =
    turn.status === "interrupted"
      ? "interrupted"
      : turn.status === "error"
        ? "failed"
        : turn.status === "complete" && turn.spoken
          ? "spoken"
          : null;
  const response = turn.metrics?.response_ms;
  return (
    <li className="voice-turn">
      <div className="voice-user">
        <span className="voice-who">You{turn.typed ? " (typed)" : ""}</span>
        <p className={turn.userFinal ? undefined : "voice-partial"}>{turn.user || "…"}</p>
      </div>
      {turn.assistant || turn.status !== "listening" ? (
        <div className="voice-assistant">
          <span className="voice-who">
            Assistant
            {tag ? <span className={`voice-tag voice-tag-${tag}`}>{tag}</span> : null}
          </span>
          <p>{turn.assistant || (turn.status === "thinking" ? "…" : "")}</p>
          {turn.error ? <p className="form-error">{turn.error}</p> : null}
          {turn.status === "complete" ? (
            <p className="muted voice-metrics">
              {typeof response === "number" ? `answered in ${Math.round(response)} ms` : null}
              {typeof response === "number" && turn.cost != null ? " · " : null}
              {turn.cost != null ? formatUsd(turn.cost) : null}
            </p>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

export default function VoicePage() {
  const params = useParams();
  const navigate = useNavigate();
  const routeThread =
    params.threadId && /^\d+$/.test(params.threadId) ? Number(params.threadId) : null;
  const onThread = useCallback(
    (threadId: number) => {
      if (routeThread !== threadId) navigate(`/voice/${threadId}`, { replace: true });
    },
    [navigate, routeThread],
  );
  const voice = useVoice(onThread);
  // the thread this page was opened on: its earlier turns, read once
  const [openedOn] = useState(routeThread);
  const earlier = useQuery({
    queryKey: ["voice-thread", openedOn],
    queryFn: () =>
      unwrap(
        api.GET("/api/threads/{thread_id}", { params: { path: { thread_id: openedOn ?? 0 } } }),
      ),
    enabled: openedOn !== null,
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnWindowFocus: false,
  });
  const history = (earlier.data?.messages ?? []).filter(
    (m) => m.role === "user" || m.role === "assistant",
  );
  const { state } = voice;
  const [text, setText] = useState("");
  const textId = useId();
  const threadId = state.threadId ?? routeThread;
  const resumable = !voice.running && routeThread !== null ? sessionStore.get(routeThread) : null;
  const live = voice.running && state.phase !== "ended";

  function send(e: FormEvent) {
    e.preventDefault();
    const t = text.trim();
    if (t && voice.sendText(t)) setText("");
  }

  return (
    <section className="page voice-page" aria-labelledby="voice-h">
      <div className="row">
        <h1 id="voice-h" className="grow">
          Voice mode
        </h1>
        {threadId ? (
          <Link to={`/c/${threadId}`} className="btn btn-ghost">
            Open the thread
          </Link>
        ) : null}
      </div>

      {!live ? (
        <>
          {resumable && routeThread !== null ? (
            <div className="voice-resume row wrap">
              <p className="grow">This thread has a voice session you can continue.</p>
              <Button variant="primary" onClick={() => void voice.resume(resumable, routeThread)}>
                Resume voice session
              </Button>
            </div>
          ) : null}
          <p className="muted">
            Talk naturally; the answer is spoken back. Speak over it to interrupt. Every turn is
            saved in a thread.
          </p>
          <SetupForm
            onStart={(c) => void voice.start(c)}
            busy={voice.running && state.phase === "connecting"}
          />
        </>
      ) : (
        <div className="voice-live">
          <div
            className={`voice-orb voice-orb-${state.phase}${voice.muted ? " voice-orb-muted" : ""}`}
            aria-hidden="true"
          />
          <p className="voice-phase" role="status">
            {voice.muted ? "Microphone muted" : PHASE_TEXT[state.phase]}
          </p>
          <div className="row wrap voice-controls">
            <Button onClick={voice.toggleMute} aria-pressed={voice.muted}>
              {voice.muted ? "Unmute microphone" : "Mute microphone"}
            </Button>
            <Button
              onClick={voice.stopAnswer}
              disabled={state.phase !== "speaking" && state.phase !== "thinking"}
            >
              Stop answer
            </Button>
            <Button variant="danger" onClick={voice.end}>
              End session
            </Button>
          </div>
          <p className="muted voice-played">Answer audio played: {voice.playedS.toFixed(1)} s</p>
        </div>
      )}

      {voice.micError ? (
        <p className="form-error" role="alert">
          {voice.micError}
        </p>
      ) : null}
      {state.error ? (
        <p className="form-error" role="alert">
          {state.error}
        </p>
      ) : null}

      {history.length ? (
        <details className="voice-history">
          <summary>Earlier in this thread ({history.length} messages)</summary>
          <ol className="voice-turns">
            {history.map((m) => (
              <li key={m.id} className={m.role === "user" ? "voice-user" : "voice-assistant"}>
                <span className="voice-who">{m.role === "user" ? "You" : "Assistant"}</span>
                <p>{typeof m.content === "string" ? m.content : ""}</p>
              </li>
            ))}
          </ol>
        </details>
      ) : null}

      <section aria-labelledby="voice-transcript-h" className="voice-transcript">
        <h2 id="voice-transcript-h" className="sr-only">
          Transcript
        </h2>
        {state.turns.length ? (
          <ol className="voice-turns" aria-live="polite" aria-relevant="additions text">
            {state.turns.map((t) => (
              <TurnView key={t.id} turn={t} />
            ))}
          </ol>
        ) : live ? (
          <p className="muted">Say something…</p>
        ) : null}
      </section>

      {live ? (
        <form className="row voice-type" onSubmit={send}>
          <label htmlFor={textId} className="sr-only">
            Type a message instead
          </label>
          <input
            id={textId}
            className="grow"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="Or type here…"
            maxLength={8000}
          />
          <Button type="submit" disabled={!text.trim()}>
            Send
          </Button>
        </form>
      ) : null}
    </section>
  );
}
