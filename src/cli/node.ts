// `wulf node …`: the node verbs shared with profiles, plus those that only make sense for nodes.
import type { Noun } from './command.ts';
import { entityVerbs } from './entity-verbs.ts';
import { console as consoleVerb, sensors } from './node-power.ts';
import { status } from './node-status.ts';

export const noun: Noun = {
  verbs: [...entityVerbs('node'), status, consoleVerb, sensors],
};
