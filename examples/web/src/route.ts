// The hash routes of TodoMVC (`#/`, `#/active`, `#/completed`) plus `#/sessions`. The hash is
// in the URL, so the filter survives a reload.
import { useSyncExternalStore } from "react";

/** Which todos the list shows. */
export type Filter = "all" | "active" | "completed";
/** What the signed-in app shows. */
export type Route = { page: "todos"; filter: Filter } | { page: "sessions" };

function parse(hash: string): Route {
  switch (hash.replace(/^#!?/, "")) {
    case "/active":
      return { page: "todos", filter: "active" };
    case "/completed":
      return { page: "todos", filter: "completed" };
    case "/sessions":
      return { page: "sessions" };
    default:
      return { page: "todos", filter: "all" };
  }
}

function subscribe(listener: () => void) {
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
}

/** The current route, re-rendering on every hash change. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => location.hash);
  return parse(hash);
}
