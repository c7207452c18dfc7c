import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";

export type ModelRef = { provider: string; model: string };

export function useAvailableModels() {
  return useQuery({
    queryKey: ["models"],
    queryFn: () => unwrap(api.GET("/api/models/available")),
    staleTime: 5 * 60_000,
  });
}

/** Placeholder picker: a plain select over the usable models. */
export function ModelPicker({
  value,
  onChange,
}: {
  value: ModelRef | null;
  onChange: (v: ModelRef) => void;
}) {
  const models = useAvailableModels();
  const list = (models.data?.models ?? []).filter((m) => (m.kind ?? "chat") === "chat");
  const key = value ? `${value.provider}/${value.model}` : "";
  return (
    <select
      aria-label="Model"
      value={key}
      onChange={(e) => {
        const [provider, ...rest] = e.target.value.split("/");
        if (provider) onChange({ provider, model: rest.join("/") });
      }}
    >
      {list.map((m) => (
        <option key={`${m.provider}/${m.id}`} value={`${m.provider}/${m.id}`}>
          {m.name} ({m.provider})
        </option>
      ))}
    </select>
  );
}

export default ModelPicker;
