// Small shared pieces: the error box every page uses, and a labelled input.
import type { InputHTMLAttributes, ReactNode } from 'react';
import { describeError } from './api';

/** The error as the person needs it: what went wrong, which field, and the server's reason code. */
export function ErrorBox({ error, testId = 'error' }: { error: unknown; testId?: string }) {
  if (error === undefined || error === null) return null;
  const e = describeError(error);
  return (
    <div className="error" role="alert" data-testid={testId}>
      <strong data-testid={`${testId}-message`}>{e.message}</strong>
      <dl>
        {e.field ? (
          <>
            <dt>Field</dt>
            <dd data-testid={`${testId}-field`}>{e.field}</dd>
          </>
        ) : null}
        {e.reason ? (
          <>
            <dt>Reason</dt>
            <dd data-testid={`${testId}-reason`}>{e.reason}</dd>
          </>
        ) : null}
        {e.code ? (
          <>
            <dt>Code</dt>
            <dd data-testid={`${testId}-code`}>{e.code}</dd>
          </>
        ) : null}
      </dl>
    </div>
  );
}

export function Field({ label, testId, ...input }: { label: string; testId: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label className="field">
      <span>{label}</span>
      <input data-testid={testId} {...input} />
    </label>
  );
}

export function Page({ title, children, testId }: { title: string; children: ReactNode; testId: string }) {
  return (
    <section className="page" data-testid={testId}>
      <h1>{title}</h1>
      {children}
    </section>
  );
}
