import { useState } from "react";
import { RouterProvider } from "react-router";
import { Providers } from "./providers";
import { makeRouter } from "./router";

export function App() {
  const [router] = useState(makeRouter);
  return (
    <Providers>
      <RouterProvider router={router} />
    </Providers>
  );
}
