// Audit search with the compliance API's filters (from, to, actor, keyId, operation, outcome) and
// cursor paging.
import { type FormEvent, useState } from 'react';
import { call, compliancePath } from '../api';
import { when } from '../format';
import { Link, navigate } from '../router';
import { ErrorBox, Page } from '../ui';
import { useLoad } from './use-load';

interface AuditRecord {
  position: string;
  id: string;
  time: string;
  actor: string;
  role: string | null;
  operation: string;
  key_id: string | null;
  key_version: number | null;
  outcome: string;
  error_code: string | null;
  request_id: string | null;
  source_address: string | null;
  details: unknown;
}

const FILTERS = ['from', 'to', 'actor', 'keyId', 'operation', 'outcome'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** datetime-local (the browser's local time) ⇄ ISO-8601 in the URL. */
const toLocal = (iso: string) => (iso ? new Date(new Date(iso).getTime() - new Date(iso).getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '');
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');

export function AuditPage({ query }: { query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Filters;
  const cursor = query.get('cursor') ?? '';
  const [form, setForm] = useState<Filters>({ ...filters, from: toLocal(filters.from), to: toLocal(filters.to) });
  const qs = query.toString();
  const result = useLoad(() => call<{ items: AuditRecord[]; nextCursor: string | null }>('GET', compliancePath('audit-records', { ...filters, cursor, limit: '100' })), [qs]);

  const search = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const v = f === 'from' || f === 'to' ? toIso(form[f]) : form[f].trim();
      if (v) q.set(f, v);
    }
    navigate(`/audit${q.toString() ? `?${q}` : ''}`);
  };
  const nextPage = () => {
    const q = new URLSearchParams(query);
    q.set('cursor', result.data?.nextCursor ?? '');
    navigate(`/audit?${q}`);
  };
  const input = (f: Exclude<(typeof FILTERS)[number], 'outcome'>, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} data-testid={`audit-filter-${f}`} value={form[f]} onChange={(e) => setForm({ ...form, [f]: e.target.value })} />
    </label>
  );

  return (
    <Page title="Audit records" testId="audit-page">
      <form className="filters" onSubmit={search}>
        {input('from', 'From', 'datetime-local')}
        {input('to', 'To (exclusive)', 'datetime-local')}
        {input('actor', 'Actor (identity id)')}
        {input('keyId', 'Key id')}
        {input('operation', 'Operation (e.g. Encrypt)')}
        <label>
          Outcome
          <select data-testid="audit-filter-outcome" value={form.outcome} onChange={(e) => setForm({ ...form, outcome: e.target.value })}>
            <option value="">any</option>
            <option>SUCCESS</option>
            <option>FAILURE</option>
            <option>DENIED</option>
          </select>
        </label>
        <button type="submit" data-testid="audit-search">
          Search
        </button>
      </form>
      <ErrorBox error={result.error} testId="audit-error" />
      {result.data && result.data.items.length === 0 ? <p data-testid="audit-empty">No audit records match.</p> : null}
      {result.data && result.data.items.length > 0 ? (
        <table data-testid="audit-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Time</th>
              <th>Actor</th>
              <th>Role</th>
              <th>Operation</th>
              <th>Key</th>
              <th>Outcome</th>
              <th>Error</th>
              <th>Request id</th>
            </tr>
          </thead>
          <tbody>
            {result.data.items.map((a) => (
              <tr key={a.id} data-testid="audit-row" className={`outcome-${a.outcome.toLowerCase()}`}>
                <td>{a.position}</td>
                <td>{when(a.time)}</td>
                <td>{a.actor}</td>
                <td>{a.role ?? '—'}</td>
                <td>{a.operation}</td>
                <td>{a.key_id ? <Link to={`/keys/${a.key_id}`}>{`${a.key_id.slice(0, 8)}… v${a.key_version ?? ''}`}</Link> : '—'}</td>
                <td>{a.outcome}</td>
                <td>{a.error_code ?? '—'}</td>
                <td>
                  <code>{a.request_id ?? '—'}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {result.data?.nextCursor ? (
        <button type="button" data-testid="audit-next" onClick={nextPage}>
          Next page
        </button>
      ) : null}
    </Page>
  );
}
