// Go template → Liquid conversion: each stock-style Go template in test/overlays/gotemplates is
// rendered by the reference Go renderer (test/gorender: text/template with Warewulf's functions)
// and, converted, by wulf's overlay renderer, for every fixture node; the files must be equal byte
// for byte. Plus what the converter refuses (line, why) and how Go syntax is found in Liquid.
import { describe, expect, test, beforeAll, afterAll } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertGoTemplate, findGoSyntax } from '../../src/overlays/gotemplate/index.ts';
import { renderTemplate } from '../../src/overlays/render.ts';
import type { RenderEnv } from '../../src/overlays/template-files.ts';
import { Builder } from '../../src/overlays/build.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { goRenderer, renderGoFull } from '../helpers/gorender.ts';
import { goldenConf, wulfConf } from './fixtures.ts';
import { goRoot, wulfData } from './gotemplate-data.ts';

const DIR = join(import.meta.dir, 'gotemplates');
const TEMPLATES = readdirSync(DIR)
  .filter((f) => f.endsWith('.ww'))
  .sort();
const conf = goldenConf();
// tags the syncuser-style fixture reads (root without password, an extra group)
conf.nodes['n-ipv6']!.tags = { PasswordlessRoot: 'TRUE', group_wheel: '10', group_staff: '50' };
conf.nodes['n-multi']!.resources = {
  localusers: [
    { name: 'svc', uid: 500, gid: 500, home: '/srv/svc', shell: '/bin/false' },
    { name: 'ops', uid: 501, gid: 100, gecos: 'Operators', home: '/home/ops', shell: '/bin/bash' },
  ],
};
const NODES = Object.keys(conf.nodes).sort();

let tmp: string, sysconf: string, images: string, env: RenderEnv;
beforeAll(() => {
  goRenderer();
  tmp = mkdtempSync(join(tmpdir(), 'wulf-gotmpl-'));
  sysconf = join(tmp, 'etc');
  images = join(tmp, 'images');
  mkdirSync(sysconf, { recursive: true });
  writeFileSync(
    join(sysconf, 'passwd.site'),
    'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n\nbob:x:1001:1001::/home/bob:/bin/sh\n',
  );
  writeFileSync(join(sysconf, 'hosts.local'), '10.9.9.9 printer\n10.9.9.10 nas # mine\n# wulf managed below\n10.0.0.1 old\n');
  mkdirSync(join(images, 'rocky-9', 'rootfs', 'etc'), { recursive: true });
  writeFileSync(join(images, 'rocky-9', 'rootfs', 'etc', 'group'), 'root:x:0:\nwheel:x:10:alice\nimage-only:x:900:\n');
  writeFileSync(
    join(images, 'rocky-9', 'rootfs', 'etc', 'passwd'),
    'root:x:0:0:image root:/root:/bin/sh\ndaemon:x:2:2::/:/sbin/nologin\nalice:x:1500:1500::/home/alice:/bin/sh\n',
  );
  env = {
    confDir: sysconf,
    hostRoot: '',
    hostAllow: ['/etc/group'], // the controller's own /etc/group, as Go's Include reads it
    imageFile: (img, p) => {
      try {
        return readFileSync(join(images, img, 'rootfs', p));
      } catch {
        return undefined;
      }
    },
  };
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Out {
  name: string;
  data: string;
  symlink?: string;
}

function wulfFiles(file: string, liquid: string, node: string): Out[] {
  const data = wulfData(conf, wulfConf, node, 'site', file);
  const r = renderTemplate('site', file, liquid, data, env);
  return r.files
    .filter((f) => !f.abort)
    .map((f) => ({ name: f.rel, data: f.data, ...(f.symlink !== undefined ? { symlink: f.symlink } : {}) }));
}

function goFiles(file: string, node: string): Out[] {
  return goFilesFor(join(DIR, file), wulfData(conf, wulfConf, node, 'site', file));
}

function goFilesFor(path: string, data: Record<string, unknown>): Out[] {
  const file = path.slice(path.lastIndexOf('/') + 1);
  const r = renderGoFull(path, goRoot(data), { sysconf, images });
  if (!r.writeFile) return [];
  // wulf's one rule of its own: a template that can switch files (calls file) writes no default file
  // that holds only whitespace, even when this node never switched (Warewulf writes it, e.g. "\n")
  const named = r.files.length > 1 || /\{\{-?\s*file\s/.test(readFileSync(path, 'utf8'));
  return (
    r.files
      // as wulf (and Warewulf's overlay build) does: a template's default file that holds only whitespace is not written once it names files
      .filter((f, i) => !(i === 0 && named && !f.data.trim() && !f.symlink))
      .map((f, i) => ({
        name: i === 0 && !f.name ? file.replace(/\.ww$/, '') : f.name,
        data: f.data,
        ...(f.symlink ? { symlink: f.target } : {}),
      }))
  );
}

describe('converted stock-style templates render byte for byte as Go renders the originals', () => {
  for (const file of TEMPLATES) {
    test(file, () => {
      const src = readFileSync(join(DIR, file), 'utf8');
      const { liquid, problems } = convertGoTemplate(src);
      expect(problems).toEqual([]);
      for (const node of NODES) {
        const want = goFiles(file, node);
        const got = wulfFiles(file, liquid, node);
        expect({ node, files: got }).toEqual({ node, files: want });
      }
    });
  }

  test('the fixture nodes differ where it matters (netdev counts, tags, kernel args, ipmi, unset fields)', () => {
    const issue = NODES.map((n) => goFiles('issue.ww', n)[0]!.data);
    expect(new Set(issue).size).toBe(NODES.length);
    const net = NODES.map((n) => goFiles('network.ww', n).length);
    expect(Math.max(...net)).toBeGreaterThanOrEqual(4);
    expect(Math.min(...net)).toBe(0);
    expect(goFiles('abort.ww', 'n-multi').length).toBe(1);
    expect(goFiles('abort.ww', 'n-static').length).toBe(0);
    expect(goFiles('abortfiles.ww', 'n-multi').map((f) => f.name)).toEqual(['a.conf', 'b.conf']);
    expect(goFiles('abortfiles.ww', 'n-bare')).toEqual([]);
    expect(goFiles('link.ww', 'n-multi')[0]!.symlink).toBe('/usr/share/zoneinfo/Europe/Paris');
    expect(goFiles('functions.ww', 'n-multi')[0]!.data).toContain('user ops:x:501:100:Operators:/home/ops:/bin/bash\n');
    expect(goFiles('group.ww', 'n-ipv6')[0]!.data).toStartWith('root::0:\n');
    expect(goFiles('group.ww', 'n-ipv6')[0]!.data).toContain('staff:x:50:');
  });
});

describe('converted templates in a real overlay build (memoised renders shared between nodes)', () => {
  test("every node's archive entries equal what Go renders for that node", () => {
    const root = join(tmp, 'build');
    const paths = pathsFor(root, root);
    const files = ['hosts.ww', 'network.ww', 'issue.ww', 'functions.ww', 'abort.ww', 'abortfiles.ww', 'link.ww'];
    const dirOf = join(paths.siteOverlaysDir, 'gosite', 'rootfs', 'etc', 'go');
    mkdirSync(dirOf, { recursive: true });
    for (const f of files) {
      const { liquid, problems } = convertGoTemplate(readFileSync(join(DIR, f), 'utf8'));
      expect(problems).toEqual([]);
      writeFileSync(join(dirOf, f), liquid);
    }
    const c = structuredClone(conf);
    for (const n of Object.values(c.nodes)) {
      n.systemOverlay = ['gosite'];
      n.runtimeOverlay = [];
    }
    const b = new Builder({ paths });
    const snap = b.snapshot(c, { ...wulfConf });
    let compared = 0;
    for (const id of NODES) {
      const got = new Map(
        [...b.entries(snap, id, 'system').values()]
          .filter((e) => e.type !== 'dir' && e.origin.startsWith('gosite/'))
          .map((e) => [e.rel, e.type === 'symlink' ? `-> ${e.target}` : new TextDecoder().decode(e.data)]),
      );
      const want = new Map<string, string>();
      for (const f of files) {
        const data = wulfData(c, wulfConf, id, 'gosite', `etc/go/${f}`);
        (data.build as { time: string }).time = (snap as unknown as { created: Date }).created.toISOString();
        for (const o of goFilesFor(join(DIR, f), data)) want.set(join('etc/go', o.name), o.symlink ? `-> ${o.symlink}` : o.data);
      }
      expect({ id, files: Object.fromEntries([...got].sort()) }).toEqual({ id, files: Object.fromEntries([...want].sort()) });
      compared += want.size;
    }
    expect(compared).toBeGreaterThan(30);
  });
});

describe('links on the controller (ImportLink, readlink)', () => {
  test('the converted template links to, and prints, where the controller link leads, as Go does', () => {
    const links = join(tmp, 'links');
    mkdirSync(join(links, 'zoneinfo', 'Europe'), { recursive: true });
    writeFileSync(join(links, 'zoneinfo', 'Europe', 'Paris'), 'TZif');
    rmSync(join(links, 'localtime'), { force: true });
    symlinkSync(join(links, 'zoneinfo', 'Europe', 'Paris'), join(links, 'localtime'));
    const file = join(tmp, 'localtime.ww');
    writeFileSync(
      file,
      `{{- /* the zone this controller uses */ -}}\n{{ ImportLink "${links}/localtime" }}zone {{ readlink "${links}/localtime" | base }}\n`.replace(
        '| base',
        '| basename',
      ),
    );
    const { liquid, problems } = convertGoTemplate(readFileSync(file, 'utf8'));
    expect(problems).toEqual([]);
    const data = wulfData(conf, wulfConf, 'n-multi', 'site', 'localtime.ww');
    const go = renderGoFull(file, goRoot(data));
    const r = renderTemplate('site', 'localtime.ww', liquid, data, { ...env, hostAllow: [`${links}/`] });
    expect(go.files[0]!.target).toBe(join(links, 'zoneinfo', 'Europe', 'Paris'));
    expect(r.files.map((f) => ({ data: f.data, symlink: f.symlink }))).toEqual([{ data: go.files[0]!.data, symlink: go.files[0]!.target }]);
    // a path wulf.conf does not allow is refused, not read
    expect(() => renderTemplate('site', 'localtime.ww', liquid, data, env)).toThrow('may be included');
  });
});

describe('convertGoTemplate', () => {
  test('reports what it cannot convert, with the line, and converts nothing silently', () => {
    const src = [
      'ok {{ .Id }}',
      '{{ template "x" . }}',
      '{{ .NoSuchField }}',
      '{{ quote .Id }}',
      '{{ printf "%5s" .Id }}',
      '{{ $x := ImportLink "/etc/localtime" }}',
      '{{ .Tags }}',
      '{{ range $i, $x := .Id }}{{ end }}',
    ].join('\n');
    const r = convertGoTemplate(src);
    expect(r.problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(r.problems[1]!.message).toContain('.NoSuchField');
    expect(r.problems[2]!.message).toContain('quote');
    expect(r.problems[3]!.message).toContain('%5');
  });

  test('a Liquid template is not converted again; plain text is kept as it is', () => {
    expect(convertGoTemplate('hello\n{{ id }} {% if x %}y{% endif %}\n').problems).toEqual([
      { line: 2, message: expect.stringContaining('Liquid already') },
    ]);
    expect(convertGoTemplate('no templates here\n')).toEqual({ liquid: 'no templates here\n', problems: [] });
    expect(convertGoTemplate('{{ printf "%v" .Kernel.Args }}').problems[0]!.message).toContain('whole list');
  });

  test('a Go syntax error is one problem with its line', () => {
    const r = convertGoTemplate('a\nb {{ if .Id }}\nc\n');
    expect(r.problems).toEqual([{ line: 2, message: expect.stringContaining('{{end}}') }]);
    expect(convertGoTemplate('x\n{{ .Id ').problems).toEqual([{ line: 2, message: 'Go template syntax: unclosed action (no "}}")' }]);
  });

  test('trim markers are applied in the conversion; text that looks like Liquid stays literal', () => {
    const r = convertGoTemplate('a  \n {{- .Id -}} \n b {% not a tag %} {{ "{" }}{{ .Id }}');
    expect(r.problems).toEqual([]);
    expect(r.liquid).toBe('a{{ id }}{% raw %}b {% not a tag %} {% endraw %}{% raw %}{{% endraw %}{{ id }}');
  });

  test('and/or nest as Go evaluates them (Liquid chains right to left, so parts become temporaries)', () => {
    const r = convertGoTemplate('{{ if or (and .Id .ClusterName) (and .ImageName .Init) }}y{{ else }}n{{ end }}');
    expect(r.problems).toEqual([]);
    expect(r.liquid).toContain('{% assign tmp');
  });
});

describe('and/or short-circuit as Go evaluates them', () => {
  test('a later argument is evaluated only when the ones before have not decided: no strict-variable error on an empty list', () => {
    const { liquid, problems } = convertGoTemplate(
      '{{ if and .Kernel.Args (index .Kernel.Args 0) }}{{ index .Kernel.Args 0 }}{{ else }}none{{ end }}',
    );
    expect(problems).toEqual([]);
    const bare = wulfData(conf, wulfConf, 'n-bare', 'site', 'f.ww');
    expect((bare.kernel as { args: string[] }).args).toEqual([]);
    expect(renderTemplate('site', 'f.ww', liquid, bare, env).files[0]!.data).toBe('none');
    expect(renderTemplate('site', 'f.ww', liquid, wulfData(conf, wulfConf, 'n-multi', 'site', 'f.ww'), env).files[0]!.data).toBe('quiet');
    // the index is read inside the test of the argument before it
    expect(liquid.indexOf('kernel.args[0]')).toBeGreaterThan(liquid.indexOf('{% if kernel.args != blank %}'));
  });

  test('arguments that cannot fail and need no temporaries stay one Liquid condition', () => {
    expect(convertGoTemplate('{{ if and .Id .ClusterName }}y{{ end }}').liquid).toBe(
      '{% if id != blank and clusterName != blank %}y{% endif %}',
    );
    expect(convertGoTemplate('{{ or .Comment "default" }}').liquid).toBe('{{ comment | default: "default" }}');
  });

  test('and as a value converts; a value that may be a number, list or map, or a string, is reported', () => {
    expect(convertGoTemplate('{{ and .Id .ClusterName }}').problems).toEqual([]);
    const r = convertGoTemplate(
      'a\n{{ or .Kernel.Args "none" }}\n{{ and (len .Kernel.Args) .Id }}\n{{ if or .Kernel.Args "none" }}ok{{ end }}',
    );
    expect(r.problems).toEqual([
      { line: 2, message: expect.stringContaining('or used as a value') },
      { line: 3, message: expect.stringContaining('and used as a value') },
    ]);
  });
});

describe('findGoSyntax', () => {
  test('finds Go actions and names their line', () => {
    expect(findGoSyntax('#!ipxe\necho hi\nkernel http://{{.Authority}}/kernel/{{.Hwaddr}}\n')).toEqual({ line: 3, text: '{{.Authority}}' });
    expect(findGoSyntax('a\n{{- if .Tags }}x{{ end }}')?.line).toBe(2);
    expect(findGoSyntax('{{ $x := 1 }}')?.line).toBe(1);
    expect(findGoSyntax('{{/* c */}}')?.text).toBe('{{/* c */}}');
    expect(findGoSyntax('{{ end }}')).not.toBeNull();
    expect(findGoSyntax('{{ Include "x" }}')).not.toBeNull();
    expect(findGoSyntax('ipmitool -H {{ printf "%s" .Ipmi.Ipaddr }}')).not.toBeNull();
    expect(findGoSyntax('{{ (index .Tags "x") }}')).not.toBeNull();
  });

  test('leaves Liquid alone', () => {
    for (const s of [
      '{{ id }} {{ hwaddr | upcase }} {{- authority -}} {{ a.b["c"] }} {{ "x" }} {{ 1 }}',
      '{% if secure %}x{% endif %}{{ kernelArgs }}',
      '{% raw %}{{ .Go }}{% endraw %}',
      '{{ interface | default: "lanplus" }} {{ a == b }} {{ x.size > 0 }} {{ (1..n) | join: "," }} {{ tags["x"] }}',
      'no tags at all ${base}/kernel',
    ])
      expect(findGoSyntax(s)).toBeNull();
  });
});
