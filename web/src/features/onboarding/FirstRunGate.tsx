import type { ReactNode } from "react";

/** Placeholder: replaced by the first-run checks. */
export function FirstRunGate({ children }: { children: ReactNode }) {
  return <>{children}</>;
}
