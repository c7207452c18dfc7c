import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo } from "react";
import { api, unwrap } from "../../api/client";
import { type ModelRef, pickDefault, usableChatModels } from "./lib";

/** Every model aihub knows (catalog + discovered), query key ["models"]. */
export function useAvailableModels() {
  return useQuery({
    queryKey: ["models"],
    queryFn: () => unwrap(api.GET("/api/models/available")),
    staleTime: 5 * 60_000,
  });
}

/** The caller's usable provider keys (own and global) per provider. */
export function useProviderStatus() {
  return useQuery({
    queryKey: ["models", "status"],
    queryFn: () => unwrap(api.GET("/api/status")),
    staleTime: 60_000,
  });
}

export function useDefaultPreferences() {
  return useQuery({
    queryKey: ["models", "defaults"],
    queryFn: () => unwrap(api.GET("/api/models/preferences/default")),
    staleTime: 5 * 60_000,
  });
}

/** Chat models the user can call now, with loading/error state of both sources. */
export function useUsableModels() {
  const models = useAvailableModels();
  const status = useProviderStatus();
  const usable = useMemo(
    () => usableChatModels(models.data?.models, status.data),
    [models.data, status.data],
  );
  return {
    usable,
    status: status.data,
    isLoading: models.isLoading || status.isLoading,
    error: models.error ?? status.error,
  };
}

/** The model a new chat should start with (per-provider defaults first). */
export function useDefaultModel(): { model: ModelRef | null; isLoading: boolean } {
  const { usable, status, isLoading } = useUsableModels();
  const defaults = useDefaultPreferences();
  const model = useMemo(
    () => pickDefault(usable, defaults.data, status),
    [usable, defaults.data, status],
  );
  return { model, isLoading: isLoading || defaults.isLoading };
}

/** Make `model` the default of its provider (creates or updates the preference). */
export function useSetProviderDefault() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (ref: ModelRef) => {
      const prefs = await unwrap(
        api.GET("/api/models/preferences", { params: { query: { limit: 1000 } } }),
      );
      const existing = prefs.find((p) => p.provider === ref.provider && p.model === ref.model);
      if (existing) {
        return unwrap(
          api.PUT("/api/models/preferences/{preferences_id}", {
            params: { path: { preferences_id: existing.id } },
            body: { is_default: true },
          }),
        );
      }
      return unwrap(
        api.POST("/api/models/preferences", {
          body: { provider: ref.provider, model: ref.model, is_default: true },
        }),
      );
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["models", "defaults"] }),
  });
}
