/** Server state of the thread list: queries and mutations (cache kept in step). */
import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../../api/client";
import { apiFetch } from "../../api/fetch";
import {
  exportFilename,
  filenameFromDisposition,
  fitsParams,
  type ListParams,
  patchThreadList,
  type Thread,
} from "./lib";

export function useThreads(params: ListParams) {
  return useQuery({
    queryKey: ["threads", params],
    queryFn: () => unwrap(api.GET("/api/threads/", { params: { query: params } })),
    placeholderData: (prev) => prev,
  });
}

export function useCategories() {
  return useQuery({
    queryKey: ["categories"],
    queryFn: () => unwrap(api.GET("/api/categories/", { params: { query: { limit: 1000 } } })),
    staleTime: 5 * 60_000,
  });
}

/** Patch every cached ["threads", params] list; `null` removes the thread. */
export function patchThreadCaches(qc: QueryClient, id: number, patch: Partial<Thread> | null) {
  for (const [key, list] of qc.getQueriesData<Thread[]>({ queryKey: ["threads"] })) {
    const params = (key[1] ?? {}) as Partial<ListParams>;
    qc.setQueryData(
      key,
      patchThreadList(list, id, patch, (t) => fitsParams(t, params)),
    );
  }
}

export function useUpdateThread() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: Schemas["ThreadUpdate"] }) =>
      unwrap(
        api.PUT("/api/threads/{thread_id}", { params: { path: { thread_id: id } }, body: patch }),
      ),
    onMutate: async ({ id, patch }) => {
      await qc.cancelQueries({ queryKey: ["threads"] });
      const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      patchThreadCaches(qc, id, clean as Partial<Thread>);
    },
    onSettled: (_d, _e, { id }) => {
      qc.invalidateQueries({ queryKey: ["threads"] });
      qc.invalidateQueries({ queryKey: ["thread", id] });
    },
  });
}

export function useDeleteThreads() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (ids: number[]) => {
      if (ids.length === 1 && ids[0] !== undefined) {
        await unwrap(
          api.DELETE("/api/threads/{thread_id}", { params: { path: { thread_id: ids[0] } } }),
        );
      } else {
        await unwrap(api.POST("/api/threads/bulk-delete", { body: { thread_ids: ids } }));
      }
    },
    onSuccess: (_d, ids) => {
      for (const id of ids) {
        patchThreadCaches(qc, id, null);
        qc.removeQueries({ queryKey: ["thread", id] });
      }
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["threads"] }),
  });
}

export function useArchiveThreads() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (ids: number[]) =>
      unwrap(api.POST("/api/threads/bulk-archive", { body: { thread_ids: ids } })),
    onSuccess: (_d, ids) => {
      for (const id of ids) patchThreadCaches(qc, id, { is_archived: true });
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["threads"] }),
  });
}

/** The same change to several threads (no bulk endpoint for it: one PUT each). */
async function updateEach(ids: number[], body: Schemas["ThreadUpdate"]) {
  for (const id of ids) {
    await unwrap(
      api.PUT("/api/threads/{thread_id}", { params: { path: { thread_id: id } }, body }),
    );
  }
}

/** Move several threads into a category. */
export function useMoveThreads() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ ids, categoryId }: { ids: number[]; categoryId: number | null }) =>
      updateEach(ids, { category_id: categoryId }),
    onSettled: () => qc.invalidateQueries({ queryKey: ["threads"] }),
  });
}

/** Bring several archived threads back. */
export function useUnarchiveThreads() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (ids: number[]) => updateEach(ids, { is_archived: false }),
    onSuccess: (_d, ids) => {
      for (const id of ids) patchThreadCaches(qc, id, { is_archived: false });
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["threads"] }),
  });
}

/** Download a thread as Markdown or JSON through the export endpoint. */
export async function downloadThread(thread: Pick<Thread, "id" | "title">, format: "md" | "json") {
  const res = await apiFetch(`/api/threads/${thread.id}/export?format=${format}`);
  if (!res.ok) throw new Error(`Export failed (${res.status})`);
  const blob = await res.blob();
  const name = filenameFromDisposition(
    res.headers.get("Content-Disposition"),
    exportFilename(thread.title, thread.id, format),
  );
  saveBlob(blob, name);
}

export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function useCategoryMutations() {
  const qc = useQueryClient();
  const done = () => {
    qc.invalidateQueries({ queryKey: ["categories"] });
    qc.invalidateQueries({ queryKey: ["threads"] });
  };
  const create = useMutation({
    mutationFn: (body: Schemas["CategoryCreate"]) => unwrap(api.POST("/api/categories/", { body })),
    onSettled: done,
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: number; body: Schemas["CategoryUpdate"] }) =>
      unwrap(
        api.PUT("/api/categories/{category_id}", { params: { path: { category_id: id } }, body }),
      ),
    onSettled: done,
  });
  const remove = useMutation({
    mutationFn: (id: number) =>
      unwrap(
        api.DELETE("/api/categories/{category_id}", { params: { path: { category_id: id } } }),
      ),
    onSettled: done,
  });
  return { create, update, remove };
}
