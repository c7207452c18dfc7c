/**
 * The model picker: a button naming the current model; it opens a dialog that
 * lists only the models the user can call (their own or global keys), grouped
 * by provider, with price, context size and capabilities, a search box, and
 * "make default for <provider>" (per-provider defaults, preferences API).
 * With no usable model it says why instead of showing an empty list.
 */
import "./models.css";
import { useId, useMemo, useRef, useState } from "react";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { Spinner } from "../../ui/Spinner";
import { toast, toastError } from "../../ui/Toast";
import { NoModelsNotice } from "../onboarding/NoModelsNotice";
import { useDefaultPreferences, useSetProviderDefault, useUsableModels } from "./hooks";
import {
  type AvailableModel,
  formatContext,
  formatPrice,
  type ModelRef,
  matchModel,
  providerName,
  sameModel,
} from "./lib";

export type { ModelRef } from "./lib";

export function ModelPicker({
  value,
  onChange,
  disabled = false,
}: {
  value: ModelRef | null;
  onChange: (v: ModelRef) => void;
  disabled?: boolean;
}) {
  const { usable, status, isLoading, error } = useUsableModels();
  const [open, setOpen] = useState(false);

  if (isLoading) return <Spinner label="Loading models" />;
  if (error) {
    return (
      <span className="form-error" role="alert">
        Models unavailable: {error.message}
      </span>
    );
  }
  if (!usable.length) return <NoModelsNotice status={status} compact />;

  const current = usable.find(
    (m) => value && m.provider === value.provider && m.id === value.model,
  );
  const label = current ? current.name : value ? value.model : "Choose a model";

  return (
    <>
      <button
        type="button"
        className="model-trigger"
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
        disabled={disabled}
      >
        <span className="sr-only">Model: </span>
        <span className="model-trigger-name">{label}</span>{" "}
        {current ? (
          <span className="model-trigger-provider">{providerName(current.provider)}</span>
        ) : null}
        <span aria-hidden="true" className="caret">
          ▾
        </span>
      </button>
      {open ? (
        <ModelDialog
          models={usable}
          value={value}
          onClose={() => setOpen(false)}
          onPick={(m) => {
            onChange(m);
            setOpen(false);
          }}
        />
      ) : null}
    </>
  );
}

function ModelDialog({
  models,
  value,
  onPick,
  onClose,
}: {
  models: AvailableModel[];
  value: ModelRef | null;
  onPick: (m: ModelRef) => void;
  onClose: () => void;
}) {
  const [q, setQ] = useState("");
  const [active, setActive] = useState<ModelRef | null>(value);
  const defaults = useDefaultPreferences();
  const setDefault = useSetProviderDefault();
  const listRef = useRef<HTMLDivElement>(null);
  const listId = useId();

  const shown = useMemo(() => models.filter((m) => matchModel(m, q)), [models, q]);
  const groups = useMemo(() => {
    const by = new Map<string, AvailableModel[]>();
    for (const m of shown) by.set(m.provider, [...(by.get(m.provider) ?? []), m]);
    return [...by.entries()];
  }, [shown]);
  const flat = groups.flatMap(([, ms]) => ms);
  const isDefault = (m: AvailableModel) => defaults.data?.[m.provider]?.model === m.id;
  const activeModel = flat.find((m) => sameModel(active, { provider: m.provider, model: m.id }));
  const optionId = (m: AvailableModel) => `${listId}-${m.provider}-${m.id}`.replace(/[^\w-]/g, "_");

  function move(delta: number | "first" | "last") {
    if (!flat.length) return;
    const i = activeModel ? flat.indexOf(activeModel) : -1;
    const j =
      delta === "first"
        ? 0
        : delta === "last"
          ? flat.length - 1
          : Math.min(flat.length - 1, Math.max(0, i + delta));
    const m = flat[j];
    if (!m) return;
    setActive({ provider: m.provider, model: m.id });
    document.getElementById(optionId(m))?.scrollIntoView({ block: "nearest" });
  }

  function onKey(e: React.KeyboardEvent) {
    if (e.key === "ArrowDown") move(1);
    else if (e.key === "ArrowUp") move(-1);
    else if (e.key === "Home" && e.currentTarget === listRef.current) move("first");
    else if (e.key === "End" && e.currentTarget === listRef.current) move("last");
    else if (e.key === "Enter" && activeModel)
      onPick({ provider: activeModel.provider, model: activeModel.id });
    else return;
    e.preventDefault();
  }

  return (
    <Dialog open title="Choose a model" onClose={onClose} className="wide model-dialog">
      <input
        type="search"
        aria-label="Search models"
        placeholder="Search by name, provider or capability"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={onKey}
        aria-controls={listId}
        aria-activedescendant={activeModel ? optionId(activeModel) : undefined}
        data-autofocus
      />
      <div
        ref={listRef}
        id={listId}
        role="listbox"
        aria-label="Models"
        tabIndex={0}
        className="model-list"
        onKeyDown={onKey}
        aria-activedescendant={activeModel ? optionId(activeModel) : undefined}
      >
        {groups.map(([provider, ms]) => (
          // biome-ignore lint/a11y/useSemanticElements: a group inside a listbox (ARIA pattern)
          <div
            key={provider}
            role="group"
            aria-label={providerName(provider)}
            className="model-group"
          >
            <div className="model-group-label" aria-hidden="true">
              {providerName(provider)}
            </div>
            {ms.map((m) => {
              const ref = { provider: m.provider, model: m.id };
              const ctx = formatContext(m.max_tokens);
              return (
                // biome-ignore lint/a11y/useFocusableInteractive: focus stays on the listbox (aria-activedescendant)
                <div
                  key={m.id}
                  id={optionId(m)}
                  role="option"
                  aria-selected={sameModel(value, ref)}
                  className={`model-option${sameModel(active, ref) ? " active" : ""}`}
                  onMouseEnter={() => setActive(ref)}
                  onClick={() => onPick(ref)}
                  onKeyDown={onKey}
                >
                  <div className="model-option-head">
                    <span className="model-name">{m.name}</span>
                    {isDefault(m) ? <span className="badge">default</span> : null}
                    {sameModel(value, ref) ? <span className="badge">current</span> : null}
                  </div>
                  <div className="model-meta">
                    <span>{formatPrice(m.pricing)}</span>
                    {ctx ? <span>{ctx}</span> : null}
                    {m.source === "discovered" ? <span>from your server</span> : null}
                  </div>
                  <div className="model-caps">
                    {m.capabilities
                      .filter((c) => c !== "chat" && c !== "streaming")
                      .map((c) => (
                        <span key={c} className="cap">
                          {c}
                        </span>
                      ))}
                  </div>
                </div>
              );
            })}
          </div>
        ))}
        {!flat.length ? <p className="muted model-none">No model matches “{q}”.</p> : null}
      </div>
      <div className="row end model-actions">
        {activeModel ? (
          <Button
            variant="ghost"
            disabled={isDefault(activeModel)}
            busy={setDefault.isPending}
            onClick={() =>
              setDefault
                .mutateAsync({ provider: activeModel.provider, model: activeModel.id })
                .then(() =>
                  toast(
                    `${activeModel.name} is now the default for ${providerName(activeModel.provider)}`,
                  ),
                )
                .catch((err: Error) => toastError(err.message))
            }
          >
            {isDefault(activeModel)
              ? `Default for ${providerName(activeModel.provider)}`
              : `Make default for ${providerName(activeModel.provider)}`}
          </Button>
        ) : null}
        <Button
          variant="primary"
          disabled={!activeModel}
          onClick={() =>
            activeModel && onPick({ provider: activeModel.provider, model: activeModel.id })
          }
        >
          Use this model
        </Button>
      </div>
    </Dialog>
  );
}

export default ModelPicker;
