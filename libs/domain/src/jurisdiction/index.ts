export * from './jurisdiction';
export * from './residency-rules.decider';
export * from './hsm-timeline.decider';
export * from './legal-artifacts.decider';
