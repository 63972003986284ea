/**
 * An aggregate's behaviour as pure functions (emmett's Decider): what a command decides given the
 * state, how an event changes the state, and the state before any event. One command handler
 * (@kms/application handleCommand) serves every aggregate through this type.
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** Fold events into a state with a decider. */
export function foldWith<C, E, S>(decider: Decider<C, E, S>, events: Iterable<E>, from: S = decider.initialState()): S {
  let state = from;
  for (const e of events) state = decider.evolve(state, e);
  return state;
}
