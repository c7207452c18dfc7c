export default function PromptsPage() {
  return (
    <section className="page">
      <h1>Prompts</h1>
    </section>
  );
}
