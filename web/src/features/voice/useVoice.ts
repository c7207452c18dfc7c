/**
 * Runs one voice session in the page: creates (or resumes) the session,
 * connects the socket, streams the microphone as PCM frames in the session's
 * format, plays the answer's audio and stops it on barge-in.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { type Capture, startCapture } from "./capture";
import { socketUrlForPage, VoiceSocket } from "./connection";
import { CapturePipeline, rateOfFormat } from "./pcm";
import { PcmPlayer } from "./player";
import { describeClose, initialVoiceState, type ServerEvent, voiceReducer } from "./protocol";

export type SessionConfig = Schemas["SessionCreate"];

const STORE = "aihub.voice.session.";

/** The session id last used for a thread in this browser (to resume it). */
export const sessionStore = {
  get(threadId: number): string | null {
    try {
      return localStorage.getItem(STORE + threadId);
    } catch {
      return null;
    }
  },
  set(threadId: number, sessionId: string): void {
    try {
      localStorage.setItem(STORE + threadId, sessionId);
    } catch {
      // no storage: the session simply cannot be resumed after a reload
    }
  },
  clear(threadId: number): void {
    try {
      localStorage.removeItem(STORE + threadId);
    } catch {
      // nothing stored
    }
  },
};

type Audio = {
  ctx: AudioContext;
  player: PcmPlayer;
  capture: Capture | null;
  pipeline: CapturePipeline | null;
};

export function useVoice(onThread: (threadId: number) => void) {
  const [state, dispatch] = useReducer(voiceReducer, initialVoiceState);
  const [muted, setMuted] = useState(false);
  const [micError, setMicError] = useState<string | null>(null);
  const [playedS, setPlayedS] = useState(0);
  const [running, setRunning] = useState(false);
  const socket = useRef<VoiceSocket | null>(null);
  const audio = useRef<Audio | null>(null);
  const mutedRef = useRef(false);
  const sessionRate = useRef(16000);
  const onThreadRef = useRef(onThread);
  onThreadRef.current = onThread;

  const teardown = useCallback((endSession: boolean) => {
    const sock = socket.current;
    socket.current = null;
    sock?.close(endSession);
    const a = audio.current;
    audio.current = null;
    if (a) {
      a.capture?.stop();
      a.player.stop();
      void a.ctx.close().catch(() => {});
    }
    setRunning(false);
  }, []);

  useEffect(() => () => teardown(false), [teardown]);

  const startMicrophone = useCallback(async () => {
    const a = audio.current;
    if (!a || a.capture) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        // echo cancellation keeps the spoken answer from barging in on itself;
        // noise and loudness are left to the server's noise gate and VAD:
        // the browser's suppression smears speech and costs the recogniser words
        audio: {
          channelCount: 1,
          echoCancellation: true,
          noiseSuppression: false,
          autoGainControl: false,
        },
      });
      if (audio.current !== a) {
        for (const t of stream.getTracks()) t.stop();
        return;
      }
      a.pipeline = new CapturePipeline(a.ctx.sampleRate, sessionRate.current);
      a.capture = await startCapture(a.ctx, stream, (chunk) => {
        if (mutedRef.current || !a.pipeline) return;
        for (const frame of a.pipeline.push(chunk)) socket.current?.sendAudio(frame);
      });
      setMicError(null);
    } catch (err) {
      const name = err instanceof DOMException ? err.name : "";
      setMicError(
        name === "NotAllowedError"
          ? "The microphone is blocked for this site. Allow it in the browser, or type below."
          : name === "NotFoundError"
            ? "No microphone was found. You can type below."
            : `The microphone could not start (${err instanceof Error ? err.message : String(err)}).`,
      );
    }
  }, []);

  const onEvent = useCallback(
    (ev: ServerEvent) => {
      const a = audio.current;
      if (ev.type === "input_audio.speech_started" || ev.type === "response.interrupted") {
        // barge-in: the server stopped the answer; drop what is queued here too
        a?.player.stop();
      }
      if (ev.type === "response.audio.start" && a) {
        a.player.stop();
        a.player.rate = ev.sample_rate ?? rateOfFormat(ev.format, sessionRate.current);
      }
      if (ev.type === "session.created") {
        const fmt = ev.config?.audio_format as { sample_rate?: number } | undefined;
        if (fmt?.sample_rate) sessionRate.current = fmt.sample_rate;
        if (ev.thread_id) {
          sessionStore.set(ev.thread_id, ev.session_id);
          onThreadRef.current(ev.thread_id);
        }
        void startMicrophone();
      }
      dispatch({ type: "server", event: ev });
    },
    [startMicrophone],
  );

  const connect = useCallback(
    (sessionId: string, wsUrl: string) => {
      const sock = new VoiceSocket({
        url: socketUrlForPage(wsUrl, window.location),
        renew: async () => {
          const t = await unwrap(
            api.POST("/api/v1/session/{session_id}/token", {
              params: { path: { session_id: sessionId } },
            }),
          );
          return socketUrlForPage(t.ws_url, window.location);
        },
        onEvent,
        onAudio: (frame) => audio.current?.player.enqueue(frame),
        onClosed: (code, byUser) => {
          if (socket.current !== sock) return;
          dispatch({ type: "local.closed", error: byUser ? null : describeClose(code) });
          teardown(false);
        },
      });
      socket.current = sock;
      sock.connect();
    },
    [onEvent, teardown],
  );

  /** Audio must be unlocked inside the click: call this synchronously from it. */
  const prepareAudio = useCallback(() => {
    teardown(false);
    const ctx = new AudioContext();
    void ctx.resume();
    const player = new PcmPlayer(ctx, sessionRate.current, () => {
      setPlayedS(player.playedS);
      dispatch({ type: "local.playback-ended" });
    });
    audio.current = { ctx, player, capture: null, pipeline: null };
    dispatch({ type: "local.connecting" });
    setRunning(true);
    setPlayedS(0);
  }, [teardown]);

  const start = useCallback(
    async (config: SessionConfig) => {
      prepareAudio();
      try {
        sessionRate.current = config.audio_format?.sample_rate ?? 16000;
        const created = await unwrap(api.POST("/api/v1/session", { body: config }));
        connect(created.session_id, created.ws_url);
      } catch (err) {
        dispatch({ type: "local.closed", error: err instanceof Error ? err.message : String(err) });
        teardown(false);
      }
    },
    [prepareAudio, connect, teardown],
  );

  const resume = useCallback(
    async (sessionId: string, threadId: number) => {
      prepareAudio();
      try {
        const t = await unwrap(
          api.POST("/api/v1/session/{session_id}/token", {
            params: { path: { session_id: sessionId } },
          }),
        );
        connect(sessionId, t.ws_url);
      } catch (err) {
        sessionStore.clear(threadId);
        dispatch({ type: "local.closed", error: err instanceof Error ? err.message : String(err) });
        teardown(false);
      }
    },
    [prepareAudio, connect, teardown],
  );

  const sendText = useCallback((text: string) => {
    if (!socket.current?.open) return false;
    audio.current?.player.stop();
    dispatch({ type: "local.typed", text });
    return socket.current.send({ type: "input_text", text });
  }, []);

  const stopAnswer = useCallback(() => {
    audio.current?.player.stop();
    socket.current?.send({ type: "response.cancel" });
  }, []);

  const toggleMute = useCallback(() => {
    mutedRef.current = !mutedRef.current;
    setMuted(mutedRef.current);
  }, []);

  const end = useCallback(() => {
    if (state.threadId) sessionStore.clear(state.threadId);
    teardown(true);
    dispatch({
      type: "server",
      event: { type: "session.ended", session_id: state.sessionId ?? "" },
    });
  }, [state.threadId, state.sessionId, teardown]);

  return {
    state,
    running,
    muted,
    micError,
    playedS,
    start,
    resume,
    sendText,
    stopAnswer,
    toggleMute,
    end,
  };
}
