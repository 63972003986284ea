// The key inventory from the compliance API (through the console's pass-through): owner, purpose,
// jurisdiction label, protection level, state, versions, next rotation; overdue rotations highlighted.
import { type FormEvent, useState } from 'react';
import { call, compliancePath } from '../api';
import { when } from '../format';
import { Link, navigate } from '../router';
import { ErrorBox, Page } from '../ui';
import { useLoad } from './use-load';

export interface KeyView {
  key_id: string;
  tenant: string;
  name: string;
  purpose: string;
  algorithm: string;
  protection_level: string;
  owner: string | null;
  labels: Record<string, string> | null;
  status: string;
  primary_version: number;
  min_decryption_version: number;
  rotation_period_days: number;
  created_at: string;
  primary_since: string;
  next_rotation_at: string | null;
}

const PURPOSES = ['ROOT_TENANT', 'SERVICE_ENVELOPE', 'DATA_PROTECTION', 'BREAK_GLASS'];
const FILTERS = ['purpose', 'state', 'owner', 'jurisdiction', 'overdue', 'label'] as const;

export function KeysPage({ query }: { query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const cursor = query.get('cursor') ?? '';
  const [form, setForm] = useState(filters);
  const qs = query.toString();
  // Overdue is the server's judgement (its clock, its filter), not the browser's clock.
  const list = useLoad(async () => {
    const [page, overdue] = await Promise.all([
      call<{ items: KeyView[]; nextCursor: string | null }>('GET', compliancePath('keys', { ...filters, cursor, limit: '100' })),
      call<{ items: KeyView[] }>('GET', compliancePath('keys', { ...filters, overdue: 'true', limit: '500' })),
    ]);
    return { ...page, overdue: new Set(overdue.items.map((k) => k.key_id)) };
  }, [qs]);

  const search = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v) q.set(k, v);
    navigate(`/keys${q.toString() ? `?${q}` : ''}`);
  };
  const nextPage = () => {
    const q = new URLSearchParams(query);
    q.set('cursor', list.data?.nextCursor ?? '');
    navigate(`/keys?${q}`);
  };

  return (
    <Page title="Keys" testId="keys-page">
      <form className="filters" onSubmit={search}>
        <label>
          Purpose
          <select data-testid="keys-filter-purpose" value={form.purpose} onChange={(e) => setForm({ ...form, purpose: e.target.value })}>
            <option value="">any</option>
            {PURPOSES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          State
          <select data-testid="keys-filter-state" value={form.state} onChange={(e) => setForm({ ...form, state: e.target.value })}>
            <option value="">any</option>
            <option>Enabled</option>
            <option>Disabled</option>
          </select>
        </label>
        <label>
          Owner
          <input data-testid="keys-filter-owner" value={form.owner} onChange={(e) => setForm({ ...form, owner: e.target.value })} />
        </label>
        <label>
          Jurisdiction
          <input data-testid="keys-filter-jurisdiction" value={form.jurisdiction} onChange={(e) => setForm({ ...form, jurisdiction: e.target.value })} />
        </label>
        <label>
          Label (k=v)
          <input data-testid="keys-filter-label" value={form.label} onChange={(e) => setForm({ ...form, label: e.target.value })} />
        </label>
        <label>
          Rotation
          <select data-testid="keys-filter-overdue" value={form.overdue} onChange={(e) => setForm({ ...form, overdue: e.target.value })}>
            <option value="">any</option>
            <option value="true">overdue</option>
            <option value="false">on time</option>
          </select>
        </label>
        <button type="submit" data-testid="keys-search">
          Filter
        </button>
      </form>
      <ErrorBox error={list.error} testId="keys-error" />
      {list.data && list.data.items.length === 0 ? <p data-testid="keys-empty">No keys match.</p> : null}
      {list.data && list.data.items.length > 0 ? (
        <table data-testid="keys-table">
          <thead>
            <tr>
              <th>Key</th>
              <th>Owner</th>
              <th>Purpose</th>
              <th>Jurisdiction</th>
              <th>Protection</th>
              <th>State</th>
              <th>Versions</th>
              <th>Next rotation</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((k) => {
              const overdue = list.data?.overdue.has(k.key_id) === true;
              return (
                <tr key={k.key_id} data-testid={`key-row-${k.key_id}`} className={overdue ? 'overdue' : undefined} data-overdue={overdue ? 'true' : 'false'}>
                  <td>
                    <Link to={`/keys/${k.key_id}`} data-testid={`key-link-${k.key_id}`}>
                      {k.tenant}/{k.name}
                    </Link>
                  </td>
                  <td>{k.owner ?? '—'}</td>
                  <td>{k.purpose}</td>
                  <td data-testid="key-jurisdiction">{k.labels?.['jurisdiction'] ?? '—'}</td>
                  <td>{k.protection_level}</td>
                  <td>{k.status}</td>
                  <td title={`primary v${k.primary_version}, decrypts from v${k.min_decryption_version}`}>{k.primary_version}</td>
                  <td data-testid="key-next-rotation">
                    {when(k.next_rotation_at)}
                    {overdue ? <strong className="badge">overdue</strong> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {list.data?.nextCursor ? (
        <button type="button" data-testid="keys-next" onClick={nextPage}>
          Next page
        </button>
      ) : null}
    </Page>
  );
}
