/**
 * The chat's keyboard shortcuts: one table drives both the key handler and
 * the help sheet. Alt+Shift+letter (by physical key, so macOS Option
 * characters do not matter) avoids the browser's own Ctrl shortcuts.
 */

export type ShortcutAction =
  | "newChat"
  | "focusInput"
  | "stop"
  | "regenerate"
  | "copyLast"
  | "search"
  | "help";

export interface Shortcut {
  action: ShortcutAction;
  keys: string;
  label: string;
  match: (e: KeyboardEvent, typing: boolean) => boolean;
}

const altShift = (code: string) => (e: KeyboardEvent) =>
  e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && e.code === code;

export const SHORTCUTS: Shortcut[] = [
  { action: "newChat", keys: "Alt+Shift+N", label: "New chat", match: altShift("KeyN") },
  {
    action: "focusInput",
    keys: "Shift+Esc or /",
    label: "Focus the message box",
    match: (e, typing) =>
      (e.key === "Escape" && e.shiftKey) ||
      (!typing && e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey),
  },
  {
    action: "stop",
    keys: "Esc",
    label: "Stop the answer",
    match: (e) => e.key === "Escape" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey,
  },
  {
    action: "regenerate",
    keys: "Alt+Shift+R",
    label: "Regenerate the last answer",
    match: altShift("KeyR"),
  },
  {
    action: "copyLast",
    keys: "Alt+Shift+C",
    label: "Copy the last answer",
    match: altShift("KeyC"),
  },
  {
    action: "search",
    keys: "Alt+Shift+S or Ctrl+K",
    label: "Search chats",
    match: (e) =>
      altShift("KeyS")(e) ||
      ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "k"),
  },
  {
    action: "help",
    keys: "? or Ctrl+/",
    label: "Show these shortcuts",
    match: (e, typing) => ((e.ctrlKey || e.metaKey) && e.key === "/") || (!typing && e.key === "?"),
  },
];

export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

export function matchShortcut(e: KeyboardEvent): ShortcutAction | null {
  const typing = isTyping(e.target);
  for (const s of SHORTCUTS) if (s.match(e, typing)) return s.action;
  return null;
}
