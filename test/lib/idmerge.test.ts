// The controller/image passwd+group merge: controller wins, id clashes move the image's name to a
// free id, the result gives no id two names, and merging the result again changes nothing.
import { expect, test } from 'bun:test';
import { conflictLine, mergeAccounts, mergeDb } from '../../src/lib/idmerge.ts';

// what a Debian 12 image and a controller with other packages look like (ids from real systems)
const ctl = {
  passwd:
    'root:x:0:0:root:/root:/bin/bash\n# a comment the controller keeps\nmessagebus:x:100:106::/nonexistent:/usr/sbin/nologin\n' +
    'alice:x:2001:2001::/home/alice:/bin/bash\n',
  group: 'root:x:0:\ndocker-registry:x:105:\nmessagebus:x:106:\nalice:x:2001:\n',
};
const img = {
  passwd:
    'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\nmessagebus:x:101:104::/nonexistent:/usr/sbin/nologin\n' +
    'alice:x:1500:1500::/home/alice:/bin/sh\n_svc:x:1200:105::/:/usr/sbin/nologin\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\nmessagebus:x:104:\nssh-agent:x:105:\nalice:x:1500:\nnogroup:x:65534:\n',
};

const ids = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.split(':')[2]);

test('controller lines win and stay in order; image-only names are appended, moved off ids the controller uses', () => {
  const m = mergeAccounts(ctl, img);
  expect(m.group.text).toBe(ctl.group + 'ssh-agent:x:999:\nnogroup:x:65534:\n');
  // sshd (uid 100 is messagebus on the controller) moves to 999; _svc's primary group ssh-agent moved 105 → 999
  expect(m.passwd.text).toBe(
    ctl.passwd +
      'sshd:x:999:65534::/run/sshd:/usr/sbin/nologin\n_svc:x:1200:999::/:/usr/sbin/nologin\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
  );
  for (const t of [m.passwd.text, m.group.text]) expect(new Set(ids(t)).size).toBe(ids(t).length);
  // the files: uid 100 (sshd) → 999, 101 (messagebus) → 100, 1500 (alice) → 2001; gid 105 → 999, 104 → 106, 1500 → 2001
  expect([...m.passwd.remap]).toEqual([
    [101, 100],
    [1500, 2001],
    [100, 999],
  ]);
  expect([...m.group.remap]).toEqual([
    [104, 106],
    [1500, 2001],
    [105, 999],
  ]);
  expect(m.passwd.conflicts.map(conflictLine)).toEqual([
    "user messagebus: uid 101 in the image, 100 on the controller: takes the controller's uid",
    "user alice: uid 1500 in the image, 2001 on the controller: takes the controller's uid",
    'user sshd: uid 100 in the image belongs to user messagebus on the controller: sshd moves to uid 999',
  ]);
  expect(conflictLine(m.group.conflicts.at(-1)!)).toBe(
    'group ssh-agent: gid 105 in the image belongs to group docker-registry on the controller: ssh-agent moves to gid 999',
  );
});

test('merging the merged image again is a no-op (what the runtime overlay computes from a synced image)', () => {
  const m = mergeAccounts(ctl, img);
  const again = mergeAccounts(ctl, { passwd: m.passwd.text, group: m.group.text });
  expect(again.passwd.text).toBe(m.passwd.text);
  expect(again.group.text).toBe(m.group.text);
  expect([again.passwd.conflicts, again.group.conflicts, again.passwd.remap.size, again.group.remap.size]).toEqual([[], [], 0, 0]);
});

test('free ids: below 1000 the highest free from 999 down, else one past the highest regular id; never one either file uses', () => {
  const c = 'a:x:999:\nb:x:998:\nc:x:1000:\nd:x:1007:\nbig:x:70000:\n';
  const i = 'e:x:999:\nf:x:997:\ng:x:1000:\nh:x:1007:\n';
  const m = mergeDb('group', c, i);
  // 999 and 998 taken by the controller, 997 by the image itself → 996; 1000 and 1007 taken → 1008, 1009
  expect(m.text.split('\n').slice(5, 9)).toEqual(['e:x:996:', 'f:x:997:', 'g:x:1008:', 'h:x:1009:']);
  // two image names sharing an id (an alias) move together
  const alias = mergeDb('user', 'x:x:500:500::/:/bin/sh\n', 'y:x:500:500::/:/bin/sh\nz:x:500:500::/:/bin/sh\n');
  expect(
    alias.text
      .split('\n')
      .slice(1, 3)
      .map((l) => l.split(':')[2]),
  ).toEqual(['999', '999']);
});

test('extra lines (resources.localusers): new names only, moved when their id is taken; an image listing a name twice keeps its first', () => {
  const m = mergeDb('user', 'root:x:0:0::/root:/bin/sh\n', 'svc:x:700:700::/:/bin/sh\nsvc:x:701:701::/:/bin/sh\n', {
    extra: 'root:x:5:5::/:/bin/sh\ndb:x:700:700::/:/bin/sh\nweb:x:1500:1500::/:/bin/sh\n',
  });
  expect(m.text).toBe('root:x:0:0::/root:/bin/sh\nsvc:x:700:700::/:/bin/sh\ndb:x:999:700::/:/bin/sh\nweb:x:1500:1500::/:/bin/sh\n');
  expect(m.conflicts).toEqual([]);
});

test('comments, NIS compat lines and malformed lines of the image are dropped; an empty everything is empty', () => {
  const m = mergeDb('user', '', '# hi\n+@netgroup::::::\nbad:x:notanumber:0::/:\nok:x:5:5::/:/bin/sh\n');
  expect(m.text).toBe('ok:x:5:5::/:/bin/sh\n');
  expect(mergeDb('group', '', '').text).toBe('');
});
