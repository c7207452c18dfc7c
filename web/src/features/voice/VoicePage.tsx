/** Placeholder created by the shell scaffold; the owner of this feature replaces it. */
export default function VoicePage() {
  return (
    <section className="page">
      <h1>Voice</h1>
      <p>Coming soon.</p>
    </section>
  );
}
