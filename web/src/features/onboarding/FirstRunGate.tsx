/**
 * Before the chat screen: an administrator of a hub without any usable model
 * is taken to /setup; a user without one is told why (never an empty picker).
 * Other pages (keys, usage...) stay reachable.
 */
import type { ReactNode } from "react";
import { Navigate, useMatch } from "react-router";
import { useAuth } from "../auth/useAuth";
import { useUsableModels } from "../models/hooks";
import { NoModelsNotice } from "./NoModelsNotice";

export function FirstRunGate({ children }: { children: ReactNode }) {
  const home = useMatch("/");
  const thread = useMatch("/c/:threadId");
  const onChat = Boolean(home || thread);
  const { user } = useAuth();
  const { usable, status, isLoading, error } = useUsableModels();

  // While loading, the chat renders at once (its picker shows a spinner).
  if (!onChat || error || isLoading || !user || usable.length) return <>{children}</>;
  // An existing thread stays readable; only a new chat needs a model.
  if (thread) return <>{children}</>;
  if (user.role === "admin") return <Navigate to="/setup" replace />;
  return (
    <div className="page">
      <NoModelsNotice status={status} />
    </div>
  );
}
