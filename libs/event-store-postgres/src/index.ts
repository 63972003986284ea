export * from './postgres-event-store';
export { eventStoreMigrations, CreateEventsTable1795359027816, IndexEventsByStreamPrefix1796740000000 } from './events-table.migration';
export * from './postgres-change-committer';
export * from './seal-history';
export { readStoredEventsAfter } from './event-row.mapper';
