/**
 * A modal dialog on the native <dialog> element: the browser makes the rest of
 * the page inert and handles Escape; we move focus in on open and give it back
 * to the element that had it on close. Mark the control to focus first with
 * `data-autofocus`.
 */
import { type ReactNode, useEffect, useId, useRef } from "react";

export type DialogProps = {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** optional description under the title */
  description?: ReactNode;
  /** Escape and the close button do nothing (e.g. re-auth must be answered) */
  dismissable?: boolean;
  className?: string;
};

export function Dialog({
  open,
  title,
  onClose,
  children,
  description,
  dismissable = true,
  className,
}: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const el = ref.current;
    if (!el || !open) return;
    const previous = document.activeElement as HTMLElement | null;
    if (!el.open) {
      if (typeof el.showModal === "function") el.showModal();
      else el.setAttribute("open", "");
    }
    const first =
      el.querySelector<HTMLElement>("[data-autofocus]") ??
      el.querySelector<HTMLElement>(
        "input:not([type=hidden]), select, textarea, button:not([data-dialog-close])",
      );
    (first ?? el).focus();
    return () => {
      if (el.open) {
        if (typeof el.close === "function") el.close();
        else el.removeAttribute("open");
      }
      if (previous && document.contains(previous)) previous.focus();
    };
  }, [open]);

  if (!open) return null;
  return (
    <dialog
      ref={ref}
      className={`dialog${className ? ` ${className}` : ""}`}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onCancel={(e) => {
        e.preventDefault();
        if (dismissable) onCloseRef.current();
      }}
    >
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        {dismissable ? (
          <button
            type="button"
            className="icon-btn"
            aria-label="Close dialog"
            data-dialog-close
            onClick={() => onCloseRef.current()}
          >
            <span aria-hidden="true">✕</span>
          </button>
        ) : null}
      </div>
      {description ? (
        <p id={descId} className="dialog-desc">
          {description}
        </p>
      ) : null}
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}
