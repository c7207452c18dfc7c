/** Server state of one thread: its tree (all branches) and the actions on it. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo } from "react";
import { api, unwrap } from "../../api/client";
import { apiFetch } from "../../api/fetch";
import { indexTree, newestLeaf, pathTo, type TreeIndex } from "./lib/tree";
import { type Message, type Thread, type Tree, threadKey, treeKey } from "./streams";

export function useThreadTree(threadId: number | null) {
  return useQuery({
    queryKey: treeKey(threadId ?? 0),
    queryFn: () =>
      unwrap(
        api.GET("/api/threads/{thread_id}/tree", {
          params: { path: { thread_id: threadId ?? 0 } },
        }),
      ) as Promise<Tree>,
    enabled: threadId !== null,
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/** The thread's own row (title, model): from the list cache when there, else fetched. */
export function useThreadInfo(threadId: number | null) {
  const qc = useQueryClient();
  return useQuery({
    queryKey: threadKey(threadId ?? 0),
    queryFn: () =>
      unwrap(
        api.GET("/api/threads/{thread_id}", { params: { path: { thread_id: threadId ?? 0 } } }),
      ) as Promise<Thread>,
    enabled: threadId !== null,
    staleTime: 60_000,
    initialData: () => {
      for (const [, list] of qc.getQueriesData<Thread[]>({ queryKey: ["threads"] })) {
        const hit = Array.isArray(list) ? list.find((t) => t.id === threadId) : undefined;
        if (hit) return hit;
      }
      return undefined;
    },
  });
}

export interface ThreadView {
  index: TreeIndex<Message>;
  /** Root..leaf of the active branch, system messages left out. */
  path: Message[];
  activeId: number | null;
}

export function useThreadView(tree: Tree | undefined): ThreadView | null {
  return useMemo(() => {
    if (!tree) return null;
    const index = indexTree(tree.messages);
    let activeId = tree.active_message_id;
    if (activeId === null && tree.messages.length) {
      const root = index.children.get(null)?.[0];
      activeId = root ? newestLeaf(index, root.id) : null;
    }
    const path = pathTo(index, activeId).filter((m) => m.role !== "system");
    return { index, path, activeId };
  }, [tree]);
}

/** Switch branch: optimistic (the leaf the server will pick), then confirmed. */
export function useActivate(threadId: number | null) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (messageId: number) =>
      unwrap(
        api.POST("/api/threads/{thread_id}/messages/{message_id}/activate", {
          params: { path: { thread_id: threadId ?? 0, message_id: messageId } },
        }),
      ),
    onMutate: (messageId: number) => {
      if (threadId === null) return undefined;
      const key = treeKey(threadId);
      const before = qc.getQueryData<Tree>(key);
      if (before) {
        const leaf = newestLeaf(indexTree(before.messages), messageId);
        qc.setQueryData<Tree>(key, { ...before, active_message_id: leaf });
      }
      return { before };
    },
    onError: (_e, _id, ctx) => {
      if (threadId !== null && ctx?.before) qc.setQueryData(treeKey(threadId), ctx.before);
    },
  });
}

export function useFork(threadId: number | null) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (messageId: number) =>
      unwrap(
        api.POST("/api/threads/{thread_id}/fork", {
          params: { path: { thread_id: threadId ?? 0 } },
          body: { message_id: messageId },
        }),
      ),
    onSuccess: (thread) => {
      const { messages: _m, ...row } = thread;
      for (const [key, list] of qc.getQueriesData<Thread[]>({ queryKey: ["threads"] })) {
        if (Array.isArray(list)) qc.setQueryData(key, [row, ...list]);
      }
      qc.setQueryData(threadKey(thread.id), row);
    },
  });
}

/** Uploads an image; the answer's URL is what the messages API takes in `images`. */
export async function uploadImage(file: File): Promise<string> {
  const form = new FormData();
  form.append("file", file);
  const res = await apiFetch("/api/files/upload", { method: "POST", body: form });
  const body = (await res.json().catch(() => ({}))) as {
    imageUrl?: string;
    error_message?: string;
  };
  if (!res.ok || !body.imageUrl) {
    throw new Error(body.error_message ?? `Upload failed (${res.status})`);
  }
  return body.imageUrl;
}
