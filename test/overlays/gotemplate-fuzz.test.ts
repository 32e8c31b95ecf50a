// Generated Go templates (a seeded grammar over the constructs the converter maps: fields, trim
// markers, if/else if/else, with, range over netdevs, tags and lists, variables, and/or/not/eq/ne,
// and/or as values and as guards of a list index (Go's short-circuit), pipelines, printf and Sprig
// string helpers) converted and rendered by wulf for every fixture node,
// against the reference Go renderer: byte for byte, and every one converts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertGoTemplate } from '../../src/overlays/gotemplate/index.ts';
import { renderTemplate } from '../../src/overlays/render.ts';
import { goRenderer, renderGoFull } from '../helpers/gorender.ts';
import { goldenConf, wulfConf } from './fixtures.ts';
import { goRoot, wulfData } from './gotemplate-data.ts';

const conf = goldenConf();
const NODES = Object.keys(conf.nodes).sort();
const COUNT = Number(process.env.WULF_GOFUZZ_COUNT ?? 80);
let tmp: string;
beforeAll(() => {
  goRenderer();
  tmp = mkdtempSync(join(tmpdir(), 'wulf-gofuzz-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** mulberry32: a small seeded generator, so a failure names a template that can be made again */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const open = () => (r() < 0.3 ? '{{- ' : '{{ ');
  const close = () => (r() < 0.3 ? ' -}}' : ' }}');
  // string-valued expressions in scope: root fields, and the netdev in a netdev loop
  // root fields through $ (inside range and with the dot is something else)
  const strs = (nd?: string) => [
    '$.Id',
    '$.ClusterName',
    '$.Comment',
    '$.ImageName',
    '$.Init',
    '$.Root',
    '$.Kernel.Version',
    '$.Ipmi.Ipaddr',
    '$.Ipmi.UserName',
    '$.Hostname',
    '$.BuildSource',
    ...(nd
      ? [`${nd}.Device`, `${nd}.Hwaddr`, `${nd}.Ipaddr`, `${nd}.Netmask`, `${nd}.Gateway`, `${nd}.MTU`, `${nd}.Type`, `${nd}.Ipaddr6`]
      : []),
  ];
  const lits = [
    '"n-bond"',
    '"c1"',
    '"eth0"',
    '"ethernet"',
    '"bond"',
    '""',
    '"x"',
    '"a\\\\b"',
    '"it\'s"',
    '"say \\"hi\\""',
    '`raw {%`',
    '"{{"',
  ];
  const strExpr = (nd: string | undefined, depth: number): string => {
    const base = pick(strs(nd));
    if (depth > 1 || r() < 0.45) return base;
    switch (Math.floor(r() * 18)) {
      case 0:
        return `(lower ${base})`;
      case 1:
        return `(default ${pick(lits)} ${base})`;
      case 2:
        return `(printf "%s-%s" ${base} ${strExpr(nd, depth + 1)})`;
      case 3:
        return `(${base} | upper)`;
      case 4:
        return `(replace "-" "_" ${base})`;
      case 5:
        return `(trimPrefix "n-" ${base})`;
      case 6:
        return `(${base} | default "none" | printf "<%s>")`;
      case 7:
        return `(coalesce ${base} ${pick(strs(nd))} "z")`;
      case 8:
        return `(cat ${base} ${pick(lits)})`;
      case 9:
        return `(ternary "yes" "no" (eq ${pick(strs(nd))} ${pick(lits)}))`;
      case 10:
        return `(index $.Tags ${pick(['"DNS1"', '"localtime"', '"nope"'])} | default "-")`;
      case 11:
        return `(printf "%d/%s" (len $.NetDevs) ${base})`;
      case 12:
        return `(join "+" (list ${base} ${pick(lits)}))`;
      // and/or as values: the first false (and) or true (or) argument, else the last; later ones only evaluated when needed
      case 13:
        return `(or ${base} ${strExpr(nd, depth + 1)}${r() < 0.5 ? ` ${pick(lits)}` : ''})`;
      case 14:
        return `(and ${base} ${strExpr(nd, depth + 1)})`;
      case 15:
        return `(and (join "," $.Kernel.Args) (index $.Kernel.Args ${Math.floor(r() * 2)}))`;
      case 16:
        return `(or (index $.Tags ${pick(['"DNS1"', '"nope"'])}) (and $.Ipmi.Ipaddr (printf "ipmi %s" $.Ipmi.Ipaddr)) ${pick(lits)})`;
      default:
        return `(substr 0 4 ${base})`;
    }
  };
  const cond = (nd: string | undefined, depth: number): string => {
    switch (Math.floor(r() * (depth > 1 ? 4 : 15))) {
      case 0:
        return pick(strs(nd));
      case 1:
        return `eq ${strExpr(nd, 1)} ${pick(lits)}`;
      case 2:
        return `ne ${pick(strs(nd))} ${pick(lits)}`;
      case 3:
        return `hasPrefix "n-b" ${pick(strs(nd))}`;
      case 4:
        return `and (${cond(nd, depth + 1)}) (${cond(nd, depth + 1)})`;
      case 5:
        return `or (${cond(nd, depth + 1)}) (${cond(nd, depth + 1)})${r() < 0.5 ? ` (${cond(nd, depth + 1)})` : ''}`;
      case 6:
        return `not (${cond(nd, depth + 1)})`;
      case 7:
        return `gt (len $.NetDevs) ${Math.floor(r() * 3)}`;
      case 8:
        return `contains "o" ${pick(strs(nd))}`;
      case 9:
        return `hasKey $.Tags ${pick(['"DNS1"', '"localtime"', '"nope"'])}`;
      case 10:
        return `empty ${pick(strs(nd))}`;
      // guards Go's short-circuit makes safe: a list index past the end is an error, unless and/or stop before it
      case 11: {
        const i = Math.floor(r() * 3);
        return `and (gt (len $.Kernel.Args) ${i}) (eq (index $.Kernel.Args ${i}) ${pick(['"quiet"', '"crashkernel=no"', '""'])})`;
      }
      case 12:
        return `or (not $.Kernel.Args) (hasPrefix "qu" (index $.Kernel.Args 0))${r() < 0.5 ? ` (${cond(nd, depth + 1)})` : ''}`;
      case 13:
        return `${pick(['and', 'or'])} (${cond(nd, depth + 1)}) ${strExpr(nd, 1)} (${cond(nd, depth + 1)})`;
      default:
        return `le (len $.Kernel.Args) ${Math.floor(r() * 3)}`;
    }
  };
  let vars = 0;
  const block = (nd: string | undefined, depth: number): string => {
    let out = '';
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) {
      // (never a "{" right before an action: Go reads "{{{" as an action starting with "{")
      out += pick(['\n', ' ', 'text ', '\n  ', '', '{ ', '} ', '{% not a tag %} ', 'a{ ', '}}', '%}']);
      const k = Math.floor(r() * (depth > 2 ? 3 : 8));
      if (k === 0) out += `${open()}${strExpr(nd, 0)}${close()}`;
      else if (k === 1) out += pick(['{{/* comment */}}', '{{- /* comment */ -}}', '{{- /* comment */}}', '{{/* comment */ -}}']);
      else if (k === 2) {
        const v = `$v${vars++}`;
        out +=
          `${open()}${v} := ${strExpr(nd, 0)}${close()}${open()}if ${cond(nd, 1)}${close()}${open()}${v} ` +
          `= ${strExpr(nd, 1)}${close()}${open()}end${close()}[${open()}${v}${close()}]`;
      } else if (k === 3)
        out +=
          `${open()}if ${cond(nd, 0)}${close()}${block(nd, depth + 1)}` +
          `${r() < 0.5 ? `${open()}else if ${cond(nd, 0)}${close()}${block(nd, depth + 1)}` : ''}` +
          `${r() < 0.5 ? `${open()}else${close()}${block(nd, depth + 1)}` : ''}${open()}end${close()}`;
      else if (k === 4 && !nd) {
        const d = `$nd${depth}`;
        out += `${open()}range $name${depth}, ${d} := $.NetDevs${close()}{{ $name${depth} }}:${block(d, depth + 1)}${open()}end${close()}`;
      } else if (k === 5)
        out += `${open()}range $k, $v := ${pick(['$.Tags', '$.Ipmi.Tags', nd ? `${nd}.Tags` : '$.Tags'])}${close()}{{ $k }}={{ $v }};${open()}end${close()}`;
      else if (k === 6) out += `${open()}with ${pick(strs(nd))}${close()}[{{ . }}]${open()}else${close()}-${open()}end${close()}`;
      else
        out += `${open()}range $i, $a := $.Kernel.Args${close()}{{ if $i }},{{ end }}{{ $a }}${open()}else${close()}no args${open()}end${close()}`;
    }
    return out;
  };
  return block(undefined, 0) + '\n';
}

describe('generated Go templates', () => {
  test(`${COUNT} seeded templates convert and render as Go renders them, for every node`, () => {
    const env = { confDir: tmp, hostRoot: '', hostAllow: [] };
    let compared = 0;
    for (let seed = 1; seed <= COUNT; seed++) {
      const src = generate(seed);
      const file = join(tmp, `g${seed}.ww`);
      writeFileSync(file, src);
      const { liquid, problems } = convertGoTemplate(src);
      expect({ seed, src, problems }).toEqual({ seed, src, problems: [] });
      for (const node of NODES) {
        const data = wulfData(conf, wulfConf, node, 'site', `g${seed}.ww`);
        const want = renderGoFull(file, goRoot(data)).files[0]!.data;
        const got = renderTemplate('site', `g${seed}.ww`, liquid, data, env).files[0]?.data ?? '';
        expect({ seed, node, src, got }).toEqual({ seed, node, src, got: want });
        compared++;
      }
    }
    expect(compared).toBe(COUNT * NODES.length);
  });
});
