export * from './postgres-event-store';
export { eventStoreMigrations, CreateEventsTable1795359027816 } from './events-table.migration';
