import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../../api/client";

export type Prompt = Schemas["PromptRead"];

export function usePrompts(params: { search?: string; is_favorite?: boolean }) {
  return useQuery({
    queryKey: ["prompts", params],
    queryFn: () =>
      unwrap(api.GET("/api/prompts/", { params: { query: { ...params, limit: 1000 } } })),
    placeholderData: (prev) => prev,
  });
}

export function usePromptMutations() {
  const qc = useQueryClient();
  const done = () => qc.invalidateQueries({ queryKey: ["prompts"] });
  const create = useMutation({
    mutationFn: (body: Schemas["PromptCreate"]) => unwrap(api.POST("/api/prompts/", { body })),
    onSettled: done,
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: number; body: Schemas["PromptUpdate"] }) =>
      unwrap(api.PUT("/api/prompts/{prompt_id}", { params: { path: { prompt_id: id } }, body })),
    onMutate: async ({ id, body }) => {
      await qc.cancelQueries({ queryKey: ["prompts"] });
      for (const [key, list] of qc.getQueriesData<Prompt[]>({ queryKey: ["prompts"] })) {
        qc.setQueryData(
          key,
          list?.map((p) => (p.id === id ? ({ ...p, ...body } as Prompt) : p)),
        );
      }
    },
    onSettled: done,
  });
  const remove = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/prompts/{prompt_id}", { params: { path: { prompt_id: id } } })),
    onSettled: done,
  });
  return { create, update, remove };
}

/** Fill a prompt's variables on the server (the authoritative renderer). */
export async function renderPrompt(id: number, variables: Record<string, string>): Promise<string> {
  const r = await unwrap(
    api.POST("/api/prompts/{prompt_id}/render", {
      params: { path: { prompt_id: id } },
      body: { variables },
    }),
  );
  return r.text;
}
