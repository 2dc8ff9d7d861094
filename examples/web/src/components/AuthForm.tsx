import { useEffect, useState, type FormEvent } from "react";
import type { CombinedError } from "urql";
import { client, signedIn } from "../client";
import { Login, Signup } from "../operations";

/** The words a person sees for a refused login or signup. */
function describe(error: CombinedError): string {
  if (error.networkError) return "The server cannot be reached. Try again in a moment.";
  const first = error.graphQLErrors[0];
  switch (first?.extensions?.code) {
    case "INVALID_CREDENTIALS":
      return "Wrong email or password.";
    case "EMAIL_TAKEN":
      return "An account with this email already exists. Log in instead.";
    case "RATE_LIMITED":
      return `Too many attempts. Try again in ${Number(first.extensions.retryAfter)} seconds.`;
    case "BAD_USER_INPUT":
      return first.message;
    default:
      return first?.message ?? error.message;
  }
}

/** `form.auth`: log in or sign up; the refresh token comes back as an HttpOnly cookie. */
export function AuthForm({ notice }: { notice?: string }) {
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  useEffect(() => setError(notice), [notice]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const form = new FormData(event.currentTarget);
    const variables = { email: String(form.get("email") ?? ""), password: String(form.get("password") ?? "") };
    setBusy(true);
    setError(undefined);
    const result =
      submitter?.name === "signup"
        ? await client.mutation(Signup, variables).toPromise()
        : await client.mutation(Login, variables).toPromise();
    setBusy(false);
    const payload = result.data && ("signup" in result.data ? result.data.signup : result.data.login);
    if (payload) signedIn(payload);
    else if (result.error) setError(describe(result.error));
  }

  return (
    <section className="todoapp">
      <header className="header">
        <h1>todos</h1>
      </header>
      <form className="auth" onSubmit={(event) => void submit(event)} noValidate>
        <input name="email" type="email" placeholder="Email" autoComplete="username" autoFocus required />
        <input name="password" type="password" placeholder="Password" autoComplete="current-password" required />
        <div className="auth-actions">
          <button name="login" type="submit" disabled={busy}>
            Log in
          </button>
          <button name="signup" type="submit" disabled={busy}>
            Sign up
          </button>
        </div>
        {error && (
          <p className="auth-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
