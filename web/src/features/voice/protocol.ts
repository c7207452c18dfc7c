/**
 * The voice socket's vocabulary (WS /ws/audio, named after the OpenAI
 * Realtime API; see the README "Realtime voice assistant") and the
 * conversation state the page shows, built from those events by a reducer.
 */

export type ServerEvent =
  | {
      type: "session.created";
      session_id: string;
      expires_at: string;
      thread_id: number | null;
      resumed?: boolean;
      token?: string;
      config?: Record<string, unknown>;
    }
  | { type: "session.updated"; config?: Record<string, unknown> }
  | { type: "session.ended"; session_id: string }
  | { type: "input_audio.speech_started"; turn_id?: string }
  | { type: "input_audio.speech_stopped"; turn_id?: string; discarded?: boolean }
  | { type: "transcript.partial"; turn_id: string; text: string }
  | { type: "transcript.final"; turn_id: string; text: string }
  | { type: "response.text.delta"; turn_id: string; delta: string }
  | { type: "response.audio.start"; turn_id: string; format: string; sample_rate?: number }
  | { type: "response.interrupted"; turn_id: string; barge_in_ms?: number; audio_ms_sent?: number }
  | {
      type: "response.done";
      turn_id: string;
      message_id?: number | null;
      user_message_id?: number | null;
      status?: "complete" | "interrupted" | "error";
      metrics?: Record<string, number | null>;
      cost?: number | null;
    }
  | {
      type: "intent";
      turn_id: string;
      name: string;
      entities: Record<string, unknown>;
      complete: boolean;
      missing?: string[];
    }
  | { type: "error"; error_message: string; error_type: string; stage?: string; turn_id?: string }
  | { type: "ping"; ts?: number }
  | { type: "pong"; ts?: number };

export type ClientEvent =
  | { type: "input_text"; text: string }
  | { type: "input_audio.commit" }
  | { type: "response.cancel" }
  | { type: "session.update"; session: Record<string, unknown> }
  | { type: "session.end" }
  | { type: "ping"; ts: number }
  | { type: "pong"; ts?: number };

/** A text frame -> an event, or null when it is not a JSON object with a type. */
export function parseServerEvent(text: string): ServerEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === "string" ? (value as ServerEvent) : null;
}

export type TurnStatus =
  | "listening"
  | "thinking"
  | "answering"
  | "complete"
  | "interrupted"
  | "error";

export type Turn = {
  id: string;
  /** what the user said (partial while they speak) */
  user: string;
  userFinal: boolean;
  /** typed rather than spoken */
  typed: boolean;
  assistant: string;
  status: TurnStatus;
  /** the answer had audio */
  spoken: boolean;
  messageId: number | null;
  cost: number | null;
  metrics: Record<string, number | null> | null;
  error: string | null;
};

export type Phase =
  | "idle"
  | "connecting"
  | "listening"
  | "hearing"
  | "thinking"
  | "speaking"
  | "ended";

export type VoiceState = {
  sessionId: string | null;
  threadId: number | null;
  phase: Phase;
  turns: Turn[];
  /** the last error not tied to a turn */
  error: string | null;
  /** a typed turn waiting for its turn_id (the server assigns it) */
  pendingTyped: string | null;
};

export const initialVoiceState: VoiceState = {
  sessionId: null,
  threadId: null,
  phase: "idle",
  turns: [],
  error: null,
  pendingTyped: null,
};

function newTurn(id: string, typedText: string | null): Turn {
  return {
    id,
    user: typedText ?? "",
    userFinal: typedText !== null,
    typed: typedText !== null,
    assistant: "",
    status: typedText !== null ? "thinking" : "listening",
    spoken: false,
    messageId: null,
    cost: null,
    metrics: null,
    error: null,
  };
}

/** Update (or create) the turn `id`. */
function withTurn(state: VoiceState, id: string, update: (t: Turn) => Turn): VoiceState {
  const i = state.turns.findIndex((t) => t.id === id);
  if (i === -1) {
    const typed = state.pendingTyped;
    return {
      ...state,
      pendingTyped: null,
      turns: [...state.turns, update(newTurn(id, typed))],
    };
  }
  const turns = state.turns.slice();
  turns[i] = update(turns[i] as Turn);
  return { ...state, turns };
}

export type VoiceAction =
  | { type: "local.connecting" }
  | { type: "local.typed"; text: string }
  | { type: "local.closed"; error?: string | null }
  | { type: "local.playback-ended" }
  | { type: "server"; event: ServerEvent };

/** The conversation after one more thing happened. Pure: the page renders it. */
export function voiceReducer(state: VoiceState, action: VoiceAction): VoiceState {
  switch (action.type) {
    case "local.connecting":
      return { ...state, phase: "connecting", error: null };
    case "local.typed":
      return { ...state, pendingTyped: action.text, phase: "thinking" };
    case "local.closed":
      return {
        ...state,
        phase: state.phase === "ended" ? "ended" : "idle",
        error: action.error ?? state.error,
      };
    case "local.playback-ended":
      return state.phase === "speaking" ? { ...state, phase: "listening" } : state;
    case "server":
      return onServer(state, action.event);
  }
}

function onServer(state: VoiceState, ev: ServerEvent): VoiceState {
  switch (ev.type) {
    case "session.created":
      return {
        ...state,
        sessionId: ev.session_id,
        threadId: ev.thread_id ?? state.threadId,
        phase: "listening",
        error: null,
      };
    case "session.ended":
      return { ...state, phase: "ended" };
    case "input_audio.speech_started":
      return ev.turn_id
        ? { ...withTurn(state, ev.turn_id, (t) => t), phase: "hearing" }
        : { ...state, phase: "hearing" };
    case "input_audio.speech_stopped":
      if (ev.discarded && ev.turn_id) {
        return {
          ...state,
          phase: "listening",
          turns: state.turns.filter((t) => t.id !== ev.turn_id || t.user),
        };
      }
      return { ...state, phase: "thinking" };
    case "transcript.partial":
      return withTurn(state, ev.turn_id, (t) => (t.userFinal ? t : { ...t, user: ev.text }));
    case "transcript.final": {
      if (!ev.text) {
        // nothing understood: the turn ends here
        const next = { ...state, turns: state.turns.filter((t) => t.id !== ev.turn_id) };
        return { ...next, phase: "listening" };
      }
      return {
        ...withTurn(state, ev.turn_id, (t) => ({
          ...t,
          user: ev.text,
          userFinal: true,
          status: "thinking",
        })),
        phase: "thinking",
      };
    }
    case "response.text.delta":
      return withTurn(state, ev.turn_id, (t) => ({
        ...t,
        assistant: t.assistant + ev.delta,
        status: "answering",
      }));
    case "response.audio.start":
      return { ...withTurn(state, ev.turn_id, (t) => ({ ...t, spoken: true })), phase: "speaking" };
    case "response.interrupted":
      return {
        ...withTurn(state, ev.turn_id, (t) => ({ ...t, status: "interrupted" })),
        phase: "listening",
      };
    case "response.done": {
      const status: TurnStatus =
        ev.status === "interrupted" ? "interrupted" : ev.status === "error" ? "error" : "complete";
      const next = withTurn(state, ev.turn_id, (t) => ({
        ...t,
        status: t.status === "interrupted" ? "interrupted" : status,
        messageId: ev.message_id ?? t.messageId,
        cost: ev.cost ?? t.cost,
        metrics: ev.metrics ?? t.metrics,
      }));
      // audio may still be playing; the player reports when it ends
      return { ...next, phase: state.phase === "speaking" ? "speaking" : "listening" };
    }
    case "error":
      if (ev.turn_id) {
        return withTurn(state, ev.turn_id, (t) => ({
          ...t,
          error: ev.error_message,
          status: ev.stage === "tts" ? t.status : "error",
        }));
      }
      return { ...state, error: ev.error_message };
    default:
      return state;
  }
}

/** Close codes after which reconnecting is pointless. */
export const FATAL_CLOSE = new Set([4404, 4409, 4410]);

/** Readable text for the socket's close codes. */
export function describeClose(code: number): string | null {
  switch (code) {
    case 1000:
      return null;
    case 4401:
      return "The voice connection was refused: sign in again.";
    case 4404:
      return "This voice session does not exist.";
    case 4408:
      return "The connection was idle for too long.";
    case 4409:
      return "This session was opened elsewhere (another tab or device).";
    case 4410:
      return "This voice session has ended or expired.";
    case 1001:
      return "The server is restarting.";
    default:
      return `The voice connection closed (${code}).`;
  }
}
