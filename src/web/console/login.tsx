/** @jsxImportSource preact */
import { render, Shell } from './layout.tsx';

export function renderLogin({ csrf, next, error, email }: { csrf: string; next: string; error?: string; email?: string }): string {
  return render(
    <Shell title="Sign in" viewer={null}>
      <div class="login">
        <h1>Sign in to Lien</h1>
        {error && (
          <div class="flash bad" data-testid="login-error" role="alert">
            {error}
          </div>
        )}
        <form method="post" action="/console/login" hx-boost="false">
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <label>
            Email
            <input type="email" name="email" autocomplete="username" required value={email ?? ''} data-testid="email" />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required data-testid="password" />
          </label>
          <button type="submit" data-testid="sign-in">
            Sign in
          </button>
        </form>
      </div>
    </Shell>,
  );
}
