/** Placeholder created by the shell scaffold; the owner of this feature replaces it. */
export default function ChatPage() {
  return (
    <section className="page">
      <h1>Chat</h1>
      <p>Coming soon.</p>
    </section>
  );
}
