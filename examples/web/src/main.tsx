import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import "todomvc-common/base.css";
import "todomvc-app-css/index.css";
import "./app.css";
import { App } from "./App";
import { client, restoreSession } from "./client";

void restoreSession();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider value={client}>
      <App />
    </Provider>
  </StrictMode>,
);
