import { Page } from "../layout.tsx";

export function SignInPage({ error }: { error?: string | undefined }) {
  return (
    <Page title="Sign in" notice={error ? { text: error, error: true } : undefined}>
      <form method="post" action="/console/sign-in" class="inline">
        <label>
          Operator token
          <input type="password" name="token" required autocomplete="off" autofocus size={40} />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">The operator token (OPERATOR_TOKEN), not a producer's dispatch token.</p>
    </Page>
  );
}
