// `wulf profile …`: the same verbs as nodes, over the nodeprofiles section.
import type { Noun } from './command.ts';
import { entityVerbs } from './entity-verbs.ts';

export const noun: Noun = {
  verbs: entityVerbs('profile'),
};
