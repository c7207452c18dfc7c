/** UI state shared across features (not server state: that is TanStack Query). */
import { create } from "zustand";

export type UiState = {
  /** the sidebar (a drawer on narrow screens) is open */
  sidebarOpen: boolean;
  /** text the composer should take on next mount (prompts "use in chat"); chat clears it */
  composerPrefill: string | null;
  /** keyboard shortcuts help sheet */
  shortcutsHelpOpen: boolean;
  /** focus the thread search box (shortcut) */
  searchFocusTick: number;
  setSidebarOpen: (open: boolean) => void;
  toggleSidebar: () => void;
  setComposerPrefill: (text: string | null) => void;
  setShortcutsHelpOpen: (open: boolean) => void;
  focusSearch: () => void;
};

const wide = () =>
  typeof window !== "undefined" && window.matchMedia?.("(min-width: 800px)").matches;

export const useUi = create<UiState>((set) => ({
  sidebarOpen: Boolean(wide()),
  composerPrefill: null,
  shortcutsHelpOpen: false,
  searchFocusTick: 0,
  setSidebarOpen: (sidebarOpen) => set({ sidebarOpen }),
  toggleSidebar: () => set((s) => ({ sidebarOpen: !s.sidebarOpen })),
  setComposerPrefill: (composerPrefill) => set({ composerPrefill }),
  setShortcutsHelpOpen: (shortcutsHelpOpen) => set({ shortcutsHelpOpen }),
  focusSearch: () => set((s) => ({ sidebarOpen: true, searchFocusTick: s.searchFocusTick + 1 })),
}));
