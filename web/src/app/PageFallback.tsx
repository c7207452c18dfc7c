import { Spinner } from "../ui/Spinner";

export function PageFallback() {
  return (
    <div className="page-fallback">
      <Spinner label="Loading page" />
    </div>
  );
}
